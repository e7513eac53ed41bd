import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  type MessageActionRowComponentBuilder,
} from 'discord.js';
import type { JobRecord } from '../../jobs/job-record.js';
import { maskSourceLabel, sourceJobLabel, type GenerationRequest } from '../../generator/request.js';
import { outputSize } from '../../generator/working-size.js';
import { extractLoraTags, HIRES_UPSCALER_LABELS, isPipelineError, parseInfotext, samplerLabel, type LoraTag } from '../../pipeline/index.js';
import { buttonId, type ButtonAction } from './custom-id.js';
import { canUpscale } from '../../jobs/upscale.js';
import type { ResultFile } from './result-files.js';
import { MAIL_EMOJI } from './mail-emoji.js';

/** Where a job stands, as its message shows it. */
export type JobState =
  | {
      readonly kind: 'queued';
      readonly position: number;
      readonly etaMs: number;
      readonly resumed?: boolean;
      /** How long ago the last GPU worker with the job's model left, while none online has it. */
      readonly modelAwayMs?: number | undefined;
    }
  | { readonly kind: 'running'; readonly step: number; readonly total: number; readonly etaMs: number; readonly resumed?: boolean }
  | { readonly kind: 'preparing'; readonly resumed?: boolean }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'cancelled'; readonly byUserId: string };

const EMBED_FIELD_LIMIT = 1024;
const EMBED_COLOR = 0x7c5cff;

/** The text of a job's message while it waits or runs, or after it failed. */
export function progressContent(record: JobRecord, state: JobState): string {
  const who = `<@${record.origin.userId}>`;
  const prompt = quote(record.request.prompt, 300);
  switch (state.kind) {
    case 'queued': {
      const position = state.position <= 1 ? 'next in line' : `position ${state.position} in line`;
      const wait = state.modelAwayMs === undefined ? `ready in about ${duration(state.etaMs)}` : modelAwayText(record, state.modelAwayMs);
      return `⏳ ${who}'s job is ${position}${resumedNote(state)} · ${wait}\n${prompt}`;
    }
    case 'running': {
      const percent = Math.floor((state.step / state.total) * 100);
      return `🎨 ${who}'s job${resumedNote(state)}: step ${state.step}/${state.total} (${percent}%) ${bar(state.step / state.total)} · about ${duration(state.etaMs)} left\n${prompt}`;
    }
    case 'preparing': {
      const model = record.request.model === undefined ? 'the model' : `the model \`${record.request.model}\``;
      return `⚙️ ${who}'s job${resumedNote(state)}: preparing ${model} (loaded on its first use; a checkpoint is converted once first)…\n${prompt}`;
    }
    case 'failed':
      return `⚠️ ${who}'s job failed: ${state.message}\n${prompt}\nJob \`${record.id}\``;
    case 'cancelled':
      return `🚫 ${who}'s job was cancelled${state.byUserId === record.origin.userId ? '' : ` by <@${state.byUserId}>`}.\n${prompt}`;
  }
}

/** Why a job waits whatever its place: no GPU worker online has its model (the last left `awayMs` ago). */
function modelAwayText(record: JobRecord, awayMs: number): string {
  return `waiting for a GPU worker with \`${record.request.model ?? 'its model'}\` (none is online; the last left ${duration(awayMs)} ago)`;
}

/** Tells the member a waiting, preparing or running job is one the bot picked up again after a restart. */
function resumedNote(state: { readonly resumed?: boolean }): string {
  return state.resumed ? ' (resumed after a restart)' : '';
}

/** The Cancel button under a waiting or running job. */
export function progressComponents(record: JobRecord): ActionRowBuilder<MessageActionRowComponentBuilder>[] {
  return [row(new ButtonBuilder().setCustomId(buttonId('cancel', record.id)).setLabel('Cancel').setEmoji('✖️').setStyle(ButtonStyle.Secondary))];
}

/** The embed of a finished job: every parameter needed to reproduce it, and `fileNote` about its files. */
export function resultEmbed(record: JobRecord, fileNote?: string): EmbedBuilder {
  const { request, result } = record;
  const label = samplerLabel(request.sampler);
  const seeds = result?.seeds ?? [request.seed];
  const notes = [...record.notices, ...(fileNote === undefined ? [] : [fileNote])];
  const embed = new EmbedBuilder()
    .setColor(EMBED_COLOR)
    .setTitle(titleOf(request))
    .addFields(
      { name: 'Prompt', value: fieldText(request.prompt) },
      ...(request.negative ? [{ name: 'Negative prompt', value: fieldText(request.negative) }] : []),
      { name: seeds.length > 1 ? 'Seeds' : 'Seed', value: `\`${seeds.join('`, `')}\``, inline: true },
      { name: 'Steps', value: String(request.steps), inline: true },
      { name: 'CFG', value: String(request.cfg), inline: true },
      { name: 'Sampler', value: label.name, inline: true },
      { name: 'Size', value: sizeText(request), inline: true },
      { name: 'Model', value: fieldText(result?.model ?? 'unknown'), inline: true },
      ...(request.strength === undefined ? [] : [{ name: 'Strength', value: String(request.strength), inline: true }]),
      ...(request.hires ? [{ name: 'Upscale', value: hiresText(request.hires), inline: true }] : []),
      ...((request.clipSkip ?? 1) > 1 ? [{ name: 'Clip skip', value: String(request.clipSkip), inline: true }] : []),
      ...sourceFields(request),
      ...networkFields(record),
      { name: 'Time', value: result ? duration(result.durationMs) : '—', inline: true },
      { name: 'Requested by', value: `<@${record.origin.userId}>`, inline: true },
    )
    .setFooter({ text: `Job ${record.id}` });
  if (notes.length > 0) embed.setDescription(notes.map((note) => `• ${note}`).join('\n').slice(0, 4000));
  return embed;
}

/**
 * What the member is told when files of a result are not its PNGs (they were over the upload limit): the format they
 * come in, and where the PNGs with their parameters are. Undefined when every file is the PNG.
 */
export function uploadNote(files: readonly ResultFile[], limitBytes: number): string | undefined {
  const formats = new Set(files.map((file) => file.format));
  const kinds = [...(formats.has('webp') ? ['lossless WebP'] : []), ...(formats.has('jpeg') ? ['high-quality JPEG'] : [])];
  if (kinds.length === 0) return undefined;
  const scaled = files.some((file) => file.scaledDown) ? ', scaled down to fit' : '';
  return (
    `Files over the upload limit here (${byteSize(limitBytes)}) come as ${kinds.join(' or ')}${scaled}, without their parameters: ` +
    `react ${MAIL_EMOJI} to get the full PNGs in a DM, or see ℹ️ Parameters.`
  );
}

/** "10 MiB", "24.5 KiB". */
function byteSize(bytes: number): string {
  const [amount, unit] = bytes >= 1024 * 1024 ? [bytes / (1024 * 1024), 'MiB'] : [bytes / 1024, 'KiB'];
  return `${Number(amount.toFixed(1))} ${unit}`;
}

function titleOf(request: GenerationRequest): string {
  if (request.kind === 'txt2img') return 'Imagined';
  if (request.kind === 'img2img') return 'Variation';
  if (request.mask?.source === 'zoom-out') return 'Zoomed out';
  return request.mask?.source === 'pan' ? 'Panned' : 'Inpainted';
}

/** The size the job was made at: with a hires fix, the first pass's and the pictures'. */
function sizeText(request: GenerationRequest): string {
  if (!request.hires) return `${request.width}×${request.height}`;
  const target = outputSize(request);
  return `${request.width}×${request.height} → ${target.width}×${target.height}`;
}

/** "2× Latent, 25 steps, strength 0.5": the hires fix's second pass as A1111's infotext names it. */
function hiresText(hires: NonNullable<GenerationRequest['hires']>): string {
  return `${hires.scale}× ${HIRES_UPSCALER_LABELS[hires.upscaler]}, ${hires.steps} steps, strength ${hires.strength}`;
}

/** The LoRAs the prompt calls, at their strengths, and the embeddings the pictures used (their `TI hashes`). */
function networkFields({ request, result }: JobRecord): { name: string; value: string; inline: true }[] {
  const loras = loraTags(request.prompt).map(({ name, te, unet }) => (te === unet ? `${name} ${te}` : `${name} te ${te}, unet ${unet}`));
  const infotext = result?.parameters?.[0]; // written by the generator, so it parses; absent in older records
  const tiHashes = infotext === undefined ? '' : (parseInfotext(infotext).extra?.['TI hashes'] ?? '');
  // "name: hash, …": a name may hold a colon, a hash never does.
  const embeddings = tiHashes === '' ? [] : tiHashes.split(', ').map((pair) => pair.slice(0, pair.lastIndexOf(':')));
  return [
    ...(loras.length > 0 ? [{ name: 'LoRAs', value: fieldText(loras.join('\n')), inline: true as const }] : []),
    ...(embeddings.length > 0 ? [{ name: 'Embeddings', value: fieldText(embeddings.join('\n')), inline: true as const }] : []),
  ];
}

/** A prompt's LoRA tags; none for a record queued before a rule of the tag reader refused its tag. */
function loraTags(prompt: string): LoraTag[] {
  try {
    return extractLoraTags(prompt).tags;
  } catch (error) {
    if (isPipelineError(error, 'INVALID_REQUEST')) return [];
    throw error;
  }
}

/** What a variation or an inpaint started from: the earlier job or an upload, and the mask. */
function sourceFields(request: GenerationRequest): { name: string; value: string; inline: true }[] {
  if (!request.source) return [];
  const sourceJob = sourceJobLabel(request.source);
  const fields = [{ name: 'Source', value: sourceJob ? `job \`${sourceJob}\`` : 'upload', inline: true as const }];
  if (request.mask) fields.push({ name: 'Mask', value: `${maskSourceLabel(request.mask)}, blur ${request.mask.blur} px`, inline: true });
  return fields;
}

/**
 * The buttons under a result: 🎲 reroll, ℹ️ parameters, 🗑️ delete; then for one picture 🔀 variations, ⬆️ upscale,
 * Vary (subtle) and Vary (strong), Zoom out 1.5× and 2×, and Pan ⬅️ ➡️ ⬆️ ⬇️; for several, U1…Un (upscale picture n) and V1…Vn (a variation of it). Within
 * Discord's 5 rows of 5 buttons (a job makes at most 4 pictures). Every result has them, whatever made it, but for
 * upscaling, which pictures the hires fix made do not offer (see `canUpscale`).
 */
export function resultComponents(record: JobRecord): ActionRowBuilder<MessageActionRowComponentBuilder>[] {
  const pictures = record.result?.seeds.length ?? record.request.count;
  const upscalable = canUpscale(record);
  const button = (action: ButtonAction, label: string, picture?: number) =>
    new ButtonBuilder().setCustomId(buttonId(action, record.id, picture)).setLabel(label).setStyle(ButtonStyle.Secondary);
  const reroll = button('reroll', 'Reroll').setEmoji('🎲').setStyle(ButtonStyle.Primary);
  const info = button('info', 'Parameters').setEmoji('ℹ️');
  const remove = button('delete', 'Delete').setEmoji('🗑️').setStyle(ButtonStyle.Danger);
  if (pictures > 1) {
    const each = (action: ButtonAction, letter: string) =>
      Array.from({ length: pictures }, (_, i) => button(action, `${letter}${i + 1}`, i + 1));
    return [row(reroll, info, remove), ...(upscalable ? [row(...each('upscale', 'U'))] : []), row(...each('vary', 'V'))];
  }
  return [
    row(reroll, button('vary', 'Variations').setEmoji('🔀'), info, remove),
    row(
      ...(upscalable ? [button('upscale', 'Upscale').setEmoji('⬆️')] : []),
      button('vary-subtle', 'Vary (subtle)'),
      button('vary-strong', 'Vary (strong)'),
      button('zoom-1.5', 'Zoom out 1.5×').setEmoji('🔎'),
      button('zoom-2', 'Zoom out 2×').setEmoji('🔎'),
    ),
    row(
      button('pan-left', 'Pan').setEmoji('⬅️'),
      button('pan-right', 'Pan').setEmoji('➡️'),
      button('pan-up', 'Pan').setEmoji('⬆️'),
      button('pan-down', 'Pan').setEmoji('⬇️'),
    ),
  ];
}

/**
 * The copyable command that reproduces image `index` of a job (its own seed): `/imagine …`, or `/variation` and
 * `/inpaint` with placeholders for the pictures the member must attach again.
 */
export function reproduceCommand(record: JobRecord, index = 0): string {
  const { request } = record;
  const seed = record.result?.seeds[index] ?? request.seed;
  const common = [
    `prompt:${request.prompt.replace(/\s+/g, ' ')}`,
    ...(request.negative ? [`negative:${request.negative.replace(/\s+/g, ' ')}`] : []),
    `seed:${seed}`,
    `steps:${request.steps}`,
    `cfg:${request.cfg}`,
    `sampler:${request.sampler}`,
  ];
  const strength = `strength:${request.strength ?? 1}`;
  switch (request.kind) {
    case 'txt2img':
      return ['/imagine', ...common, ...modelOption(request), `width:${request.width}`, `height:${request.height}`, ...clipSkipOption(request), ...upscaleOption(request)].join(' ');
    case 'img2img':
      return ['/variation', ...variationSource(request), ...common, strength].join(' ');
    case 'inpaint':
      return ['/inpaint', 'image:(the same picture)', ...common, strength, ...maskOptions(request)].join(' ');
  }
}

/** Only /imagine takes `model`; a job from before models could be picked ran on the default, and leaves it out. */
function modelOption(request: GenerationRequest): string[] {
  return request.model === undefined ? [] : [`model:${request.model}`];
}

/** Only /imagine takes `clip_skip`; the default 1 is left out. */
function clipSkipOption(request: GenerationRequest): string[] {
  return (request.clipSkip ?? 1) > 1 ? [`clip_skip:${request.clipSkip}`] : [];
}

/** `/imagine`'s `upscale` (the server's upscaler and strength apply, as they did). */
function upscaleOption(request: GenerationRequest): string[] {
  return request.hires ? [`upscale:${request.hires.scale}x`] : [];
}

function variationSource(request: GenerationRequest): string[] {
  const source = request.source;
  if (source?.jobId === undefined) return ['image:(the same picture)'];
  return [`job:${source.jobId}`, ...(source.index ? [`which:${source.index + 1}`] : [])];
}

function maskOptions(request: GenerationRequest): string[] {
  const mask = request.mask;
  if (!mask) return [];
  // Zoom out and pan made their canvas and mask: to do it again, the same pair.
  const area = mask.region ? [`region:${mask.region}`] : mask.source === 'transparency' ? [] : ['mask:(the same mask)'];
  return [...area, `mask_blur:${mask.blur}`];
}

function row(...buttons: ButtonBuilder[]): ActionRowBuilder<MessageActionRowComponentBuilder> {
  return new ActionRowBuilder<MessageActionRowComponentBuilder>().addComponents(...buttons);
}

/** Text for an embed field; a longer one is cut visibly (the full text is in the ℹ️ parameters and the PNG). */
function fieldText(text: string): string {
  if (text.length <= EMBED_FIELD_LIMIT) return text || '—';
  return `${text.slice(0, EMBED_FIELD_LIMIT - 40)}… (full text under ℹ️ Parameters)`;
}

function quote(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return `> ${oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine}`;
}

function bar(fraction: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * 10);
  return `${'▰'.repeat(filled)}${'▱'.repeat(10 - filled)}`;
}

/** "12 s", "3 min". */
export function duration(ms: number): string {
  if (ms < 1000) return '1 s';
  if (ms < 90_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}
