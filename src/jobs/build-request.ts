import { MAX_IMAGES_PER_JOB } from '../config/index.js';
import type { ModelFacts, ServedModel } from '../generator/generator.js';
import { generationParameters, type GenerationRequest } from '../generator/request.js';
import {
  extractLoraTags,
  isPipelineError,
  MAX_SEED,
  parseSamplerName,
  parseScheduleType,
  randomSeed,
  REQUEST_LIMITS,
  resolveParameters,
  sizeForAspect,
  type PromptSyntax,
} from '../pipeline/index.js';
import { Refused, refusalOf, type Result } from '../refusal.js';
import type { GuildSettings, SettingKey } from '../settings/keys.js';
import { escapeUnprintable, shownValue as shown } from '../shown-value.js';
import { closeNames } from './close-names.js';
import { chooseModel, settingsOn } from './model-choice.js';
import { hiresOf, upscaleScale } from './hires-request.js';
import { pastedParameters } from './pasted-parameters.js';
import { cleanPrompt, countBreaks, findBlockedWord, MAX_BREAKS, MAX_PROMPT_CHARS } from './prompt-text.js';

/** What a member typed, before validation. Every field is untrusted, its type included. */
export interface GenerationOptions {
  readonly prompt?: unknown;
  readonly negative?: unknown;
  readonly seed?: unknown;
  readonly steps?: unknown;
  readonly cfg?: unknown;
  readonly sampler?: unknown;
  readonly aspect?: unknown;
  readonly width?: unknown;
  readonly height?: unknown;
  readonly count?: unknown;
  readonly strength?: unknown;
  readonly clipSkip?: unknown;
  /** A LoRA's name (the `lora` option): its tag and trigger words are added to the prompt. */
  readonly lora?: unknown;
  /** `/imagine`'s hires fix: `1.5x` or `2x` (`UPSCALE_CHOICES`). */
  readonly upscale?: unknown;
  /** `/imagine`'s or `/inpaint`'s pasted AUTOMATIC1111 parameters block, remade in A1111 mode (see `pasted-parameters.ts`). */
  readonly parameters?: unknown;
  /** The served model's name (`/imagine model:`; a variation's source job's); absent = the server's default. */
  readonly model?: unknown;
}

/** What a request falls back on besides the server's settings: the models and the product defaults. */
export interface RequestDefaults {
  /**
   * The models served now, the bot's default first, each with its native size, aspect buckets (an aspect ratio is
   * drawn at the nearest) and largest clip skip.
   */
  readonly models: () => readonly ServedModel[];
  /** `generation.strength` of `config/default.json`: /variation's strength when the member gives none. */
  readonly strength: number;
  /** `generation.inpaintStrength`: /inpaint's. */
  readonly inpaintStrength: number;
  /** `generation.promptSyntax`. */
  readonly promptSyntax: PromptSyntax;
  /** The LoRAs prompts may call (`<lora:name:weight>`): those in `LORA_DIR` at start, with their trigger words. */
  readonly loras: readonly LoraChoice[];
}

/** A LoRA members may call, as `LORA_DIR` lists it (its sidecar's trigger words and preferred weight). */
export interface LoraChoice {
  readonly name: string;
  readonly activationText: string;
  readonly preferredWeight: number;
}

/** LoRAs one prompt may call: each is merged into the model, and a set that is new costs a merge. */
export const MAX_LORAS_PER_PROMPT = 5;

/** Longer than any sampler's name or id. */
const SAMPLER_NAME_CHARS = 40;

/** Hard bounds whatever a server sets: the pipeline's (`REQUEST_LIMITS`), and the product's images per job. */
const { steps: STEPS, cfg: CFG, size: SIZE, strength: STRENGTH, clipSkip: CLIP_SKIP } = REQUEST_LIMITS;
const BOUNDS = {
  steps: [STEPS.min, STEPS.max],
  cfg: [CFG.min, CFG.max],
  side: [SIZE.min, SIZE.max],
  count: [1, MAX_IMAGES_PER_JOB],
  strength: [STRENGTH.min, STRENGTH.max],
  clipSkip: [CLIP_SKIP.min, CLIP_SKIP.max],
} as const;

export type ValidatedRequest = Omit<GenerationRequest, 'source' | 'mask'>;

/**
 * Validates a member's options against the server's effective settings and fills in the defaults. A value over
 * a server limit is refused, or clamped with a notice when the server chose `overLimit: clamp`. Then the request is
 * resolved by the pipeline's own `resolveParameters`, once, so that what is queued is what the pipeline runs.
 */
export function buildGenerationRequest(
  kind: GenerationRequest['kind'],
  given: GenerationOptions,
  serverSettings: GuildSettings,
  defaults: RequestDefaults,
  overridden: ReadonlySet<SettingKey> = new Set(),
): Result<{ request: ValidatedRequest; notices: string[] }> {
  try {
    const pasted = pastedParameters(given.parameters, { ...given, parameters: undefined }, kind === 'inpaint' ? 'inpaint' : 'txt2img');
    const options = pasted?.options ?? given;
    if (kind !== 'img2img' && (options.prompt === undefined || options.prompt === null)) {
      const command = kind === 'txt2img' ? 'imagine' : 'inpaint';
      throw new Refused('INVALID_OPTION', `\`/${command}\` needs \`prompt\`, or \`parameters\` with a pasted AUTOMATIC1111 block.`);
    }
    const notices: string[] = [...(pasted?.notices ?? [])];
    const model = chooseModel(options.model, serverSettings.model, defaults.models());
    // From here on, the server's settings with the model's own defaults where the server set none.
    const settings = settingsOn(model, serverSettings, overridden);
    const prompt = withLora(text('prompt', options.prompt, true), options.lora, defaults.loras);
    const memberNegative = text('negative', options.negative, false);
    if (findBlockedWord(`${prompt}\n${memberNegative}`, settings.blockedWords) !== undefined) {
      throw new Refused('BLOCKED', 'This prompt uses a word that is not allowed on this server.');
    }
    checkLoraTags(prompt, defaults.loras, settings.allowedLoras);
    const limit = overLimitPolicy(settings, notices);
    const steps = limit('steps', integer('steps', options.steps, settings.steps, BOUNDS.steps), settings.maxSteps);
    const count = limit('count', integer('count', options.count, 1, BOUNDS.count), settings.maxCount);
    const size = fitPixels(imageSize(options, settings.aspect, model), settings, notices, options.width === undefined && options.height === undefined);
    const request: ValidatedRequest = {
      kind,
      model: model.name,
      prompt,
      negative: [settings.negativePrompt.trim(), memberNegative].filter(Boolean).join(', '),
      seed: seedOf(options.seed),
      steps,
      cfg: decimal('cfg', options.cfg, settings.cfg, BOUNDS.cfg),
      sampler: samplerId(options.sampler, settings.sampler),
      ...size,
      count,
      rng: pasted?.fields.rng ?? settings.rng,
      clipSkip: clipSkipOf(options.clipSkip, settings.clipSkip, model.maxClipSkip),
      promptSyntax: defaults.promptSyntax,
      compat: settings.compat,
      ...(settings.emphasis === 'Original' ? {} : { emphasis: settings.emphasis }),
      ...pasted?.fields,
    };
    if (kind !== 'txt2img') request.strength = strengthOf(kind, options.strength, settings, defaults);
    const upscale = options.upscale ?? undefined;
    if (kind === 'txt2img' && upscale !== undefined) {
      request.hires = hiresOf(size, upscaleScale(upscale), steps, settings, notices);
    } else if (kind === 'txt2img' && pasted?.hires) {
      // A pasted hires fix runs as pasted, within the server's pixel limit (its scale clamped or refused).
      const { scale, sampler, scheduleType, ...pastedFields } = pasted.hires;
      // The block's `Hires sampler` was read as an id and its `Hires schedule type` as A1111's name (see `hiresFromInfotext`).
      const hiresSampler = sampler === undefined ? {} : { sampler: parseSamplerName(sampler) };
      const hiresSchedule = scheduleType === undefined ? {} : { scheduleType: parseScheduleType(scheduleType) };
      request.hires = { ...hiresOf(size, scale, steps, settings, notices), ...pastedFields, ...hiresSampler, ...hiresSchedule };
    }
    resolveOnce(request);
    return { ok: true, request, notices };
  } catch (error) {
    return refusalOf(error);
  }
}

/** The prompt with the chosen LoRA's trigger words and tag (at its preferred weight) added, as A1111's cards do. */
function withLora(prompt: string, chosen: unknown, loras: readonly LoraChoice[]): string {
  if (chosen === undefined || chosen === null || chosen === '') return prompt;
  const lora = typeof chosen === 'string' ? loras.find((l) => l.name === chosen) : undefined;
  if (!lora) throw new Refused('INVALID_OPTION', `There is no LoRA called ${shown(chosen)}; choose one from the list.`);
  return [prompt, lora.activationText, `<lora:${lora.name}:${lora.preferredWeight}>`].filter(Boolean).join(', ');
}

/**
 * Refuses a prompt whose LoRA tags cannot be read, call more than five LoRAs, call one that is not there, or one the
 * server does not allow (`allowedLoras`, empty = all).
 */
function checkLoraTags(prompt: string, loras: readonly LoraChoice[], allowed: readonly string[]): void {
  const available = loras.map((lora) => lora.name);
  let tags;
  try {
    tags = extractLoraTags(prompt).tags;
  } catch (error) {
    if (!isPipelineError(error, 'INVALID_REQUEST')) throw error;
    throw new Refused('INVALID_OPTION', `${escapeUnprintable(error.message)}.`);
  }
  if (tags.length > MAX_LORAS_PER_PROMPT) {
    throw new Refused('OVER_LIMIT', `This prompt calls ${tags.length} LoRAs; the limit is ${MAX_LORAS_PER_PROMPT}.`);
  }
  const barred = allowed.length > 0 ? tags.find((tag) => !allowed.includes(tag.name)) : undefined;
  if (barred) throw new Refused('NOT_ALLOWED', `This server does not allow the LoRA ${shown(barred.name)}; it allows ${namesShown(allowed)}.`);
  const unknown = tags.find((tag) => !available.includes(tag.name));
  if (unknown === undefined) return;
  if (available.length === 0) throw new Refused('INVALID_OPTION', 'This bot has no LoRAs, so `<lora:…>` tags cannot be used.');
  const close = closeNames(unknown.name, available);
  const guess = close.length > 0 ? ` Did you mean ${namesShown(close.slice(0, 3), ' or ')}?` : '';
  const listed = namesShown(available.slice(0, 20));
  throw new Refused('INVALID_OPTION', `There is no LoRA called ${shown(unknown.name)}; there are: ${listed}${available.length > 20 ? ', …' : ''}.${guess}`);
}

/**
 * LoRA names as a refusal lists them: a file name may hold characters a member cannot see (a bidi override, a
 * control), written as their escapes.
 */
function namesShown(names: readonly string[], separator = ', '): string {
  return names.map(escapeUnprintable).join(separator);
}

/** Refuses a value over a server limit, or clamps it (with a notice) when the server chose to clamp. */
function overLimitPolicy(settings: GuildSettings, notices: string[]) {
  return (name: string, value: number, max: number): number => {
    if (value <= max) return value;
    if (settings.overLimit !== 'clamp') throw new Refused('OVER_LIMIT', `\`${name}\` ${value} is over this server's limit of ${max}.`);
    notices.push(`\`${name}\` ${value} is over this server's limit of ${max}; used ${max}.`);
    return max;
  };
}

function text(name: string, value: unknown, required: boolean): string {
  if (value === undefined || value === null) {
    if (required) throw new Refused('INVALID_OPTION', `\`${name}\` is required.`);
    return '';
  }
  if (typeof value !== 'string') throw new Refused('INVALID_OPTION', `\`${name}\` must be text.`);
  const cleaned = cleanPrompt(value);
  if (required && cleaned === '') throw new Refused('INVALID_OPTION', `\`${name}\` is empty.`);
  if (cleaned.length > MAX_PROMPT_CHARS) {
    throw new Refused('INVALID_OPTION', `\`${name}\` is ${cleaned.length} characters long; the limit is ${MAX_PROMPT_CHARS}.`);
  }
  const breaks = countBreaks(cleaned);
  if (breaks > MAX_BREAKS) {
    throw new Refused('INVALID_OPTION', `\`${name}\` uses BREAK ${breaks} times; the limit is ${MAX_BREAKS}.`);
  }
  return cleaned;
}

function integer(name: string, value: unknown, fallback: number, [min, max]: readonly [number, number]): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new Refused('INVALID_OPTION', `\`${name}\` must be a whole number from ${min} to ${max}, got ${shown(value)}.`);
  }
  return value;
}

function decimal(name: string, value: unknown, fallback: number, [min, max]: readonly [number, number]): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new Refused('INVALID_OPTION', `\`${name}\` must be a number from ${min} to ${max}, got ${shown(value)}.`);
  }
  return value;
}

function strengthOf(kind: GenerationRequest['kind'], value: unknown, settings: GuildSettings, defaults: RequestDefaults): number {
  if (value === undefined || value === null) {
    // The product default quietly follows the server's range: only what a member typed can be out of it.
    const fallback = kind === 'inpaint' ? defaults.inpaintStrength : defaults.strength;
    return Math.min(settings.maxStrength, Math.max(settings.minStrength, fallback));
  }
  const strength = decimal('strength', value, 0, BOUNDS.strength);
  if (strength < settings.minStrength || strength > settings.maxStrength) {
    throw new Refused('OVER_LIMIT', `\`strength\` ${strength} is outside this server's range ${settings.minStrength}–${settings.maxStrength}.`);
  }
  return strength;
}

/**
 * The member's clip skip, or the server's default, checked against what the model offers: a model converted by
 * another tool has only its last layer as an output. A server default beyond the model falls back quietly to it.
 */
function clipSkipOf(value: unknown, fallback: number, modelMax: number): number {
  if (value === undefined || value === null) return Math.min(fallback, modelMax);
  const clipSkip = integer('clip_skip', value, fallback, BOUNDS.clipSkip);
  if (clipSkip > modelMax) {
    const offered = modelMax === 1 ? 'only 1 (its text encoder has no earlier layers as outputs)' : `at most ${modelMax}`;
    throw new Refused('INVALID_OPTION', `\`clip_skip\` ${clipSkip} is not available: this model offers ${offered}.`);
  }
  return clipSkip;
}

function samplerId(value: unknown, fallback: string): GenerationRequest['sampler'] {
  const name = value === undefined || value === null || value === '' ? fallback : value;
  if (typeof name !== 'string') throw new Refused('INVALID_OPTION', '`sampler` must be text.');
  try {
    return parseSamplerName(name);
  } catch (error) {
    // The parser's message quotes the whole name, which may be thousands of characters long.
    if (name.length > SAMPLER_NAME_CHARS) throw new Refused('INVALID_OPTION', `\`sampler\` ${shown(name)} is not a sampler.`);
    throw new Refused('INVALID_OPTION', escapeUnprintable((error as Error).message));
  }
}

/**
 * Resolves the request as the pipeline will: what it would refuse (a seed without room for every image, a strength
 * that leaves no step) is refused here, to the member alone, rather than failing later in front of everyone.
 * @throws Refused
 */
export function resolveOnce(request: ValidatedRequest): void {
  try {
    resolveParameters(generationParameters(request), request.kind);
  } catch (error) {
    if (!isPipelineError(error, 'INVALID_REQUEST')) throw error;
    throw new Refused('INVALID_OPTION', `${error.message}.`);
  }
}

/** The seed as a decimal string; absent, -1 or "random" pick a random one. */
function seedOf(value: unknown): string {
  if (value === undefined || value === null) return String(randomSeed());
  const raw = (typeof value === 'number' || typeof value === 'bigint' ? String(value) : value) as unknown;
  const trimmed = typeof raw === 'string' ? raw.trim() : undefined;
  if (trimmed === '' || trimmed === '-1' || trimmed?.toLowerCase() === 'random') return String(randomSeed());
  if (trimmed === undefined || !/^\d{1,20}$/.test(trimmed) || BigInt(trimmed) > MAX_SEED) {
    const got = trimmed === undefined ? typeof raw : shown(trimmed);
    throw new Refused('INVALID_OPTION', `\`seed\` must be a whole number from 0 to ${MAX_SEED}, or -1 for a random seed; got ${got}.`);
  }
  return BigInt(trimmed).toString();
}

/** Width and height: both given, one given and the other from the aspect ratio, or the aspect at native size. */
function imageSize(options: GenerationOptions, defaultAspect: string, model: ModelFacts): { width: number; height: number } {
  const aspect = options.aspect ?? defaultAspect;
  const match = typeof aspect === 'string' ? /^(\d{1,2}):(\d{1,2})$/.exec(aspect) : null;
  if (!match || Number(match[1]) === 0 || Number(match[2]) === 0) {
    throw new Refused('INVALID_OPTION', `\`aspect\` must look like 2:3, got ${shown(aspect)}.`);
  }
  const ratio = Number(match[1]) / Number(match[2]);
  const width = side('width', options.width);
  const height = side('height', options.height);
  if (width !== undefined && height !== undefined) return { width, height };
  if (width !== undefined) return { width, height: multipleOf8(width / ratio) };
  if (height !== undefined) return { width: multipleOf8(height * ratio), height };
  const size = sizeForAspect(ratio, model.nativeSize, model.sizeBuckets);
  return { width: multipleOf8(size.width), height: multipleOf8(size.height) };
}

function side(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const [min, max] = BOUNDS.side;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new Refused('INVALID_OPTION', `\`${name}\` must be a whole number from ${min} to ${max}, got ${shown(value)}.`);
  }
  if (value % 8 !== 0) throw new Refused('INVALID_OPTION', `\`${name}\` must be a multiple of 8, got ${value}.`);
  return value;
}

function multipleOf8(value: number): number {
  return Math.min(BOUNDS.side[1], Math.max(BOUNDS.side[0], Math.round(value / 8) * 8));
}

/**
 * Refuses (or clamps, keeping the aspect ratio) a size over the server's pixel limit. A size the member did not
 * type (`fromDefaults`) is fitted quietly.
 */
function fitPixels(size: { width: number; height: number }, settings: GuildSettings, notices: string[], fromDefaults: boolean) {
  const pixels = size.width * size.height;
  if (pixels <= settings.maxPixels) return size;
  const asked = `${size.width}×${size.height} (${pixels} pixels) is over this server's limit of ${settings.maxPixels} pixels`;
  if (settings.overLimit !== 'clamp' && !fromDefaults) throw new Refused('OVER_LIMIT', `${asked}.`);
  const scale = Math.sqrt(settings.maxPixels / pixels);
  const fitted = fitSides(size.width * scale, size.height * scale, settings.maxPixels);
  if (!fromDefaults) notices.push(`${asked}; used ${fitted.width}×${fitted.height}.`);
  return fitted;
}

/**
 * Sides of about `width × height`, multiples of 8, no side under the 64 pixels the model needs (a small limit and a
 * wide aspect would leave the short side under it), and the long side shortened so the limit still holds.
 */
function fitSides(width: number, height: number, maxPixels: number): { width: number; height: number } {
  const [min] = BOUNDS.side;
  const short = Math.max(min, Math.floor(Math.min(width, height) / 8) * 8);
  const long = Math.max(min, Math.min(Math.floor(Math.max(width, height) / 8) * 8, Math.floor(maxPixels / short / 8) * 8));
  return width >= height ? { width: long, height: short } : { width: short, height: long };
}
