import { escapeMarkdown, InteractionContextType, MessageFlags, SlashCommandBuilder } from 'discord.js';
import type { GpuStatus } from '../../generator/gpu-status.js';
import type { JobService } from '../../jobs/job-service.js';
import type { SlashCommand } from '../interactions/command.js';

const data = new SlashCommandBuilder()
  .setName('queue')
  .setDescription('Jobs waiting and running, and the GPUs that run them')
  .setContexts(InteractionContextType.Guild)
  .toJSON();

type QueueStats = ReturnType<JobService['stats']>;

/** A reply stays under Discord's 2,000 characters whatever the number of workers. */
const MAX_CHARS = 1900;

/**
 * `/queue`: the queue's length, and where jobs run — each GPU worker online with its provider, models, capacity (in
 * batches, and the pictures a batch holds) and the jobs it runs now (their ids are the ones the bot and the worker
 * log), or the bot's own pipeline. Ephemeral: it is a look, not news for the channel.
 */
export const queueCommand: SlashCommand = {
  data,
  async execute(interaction, context) {
    const content = queueText(context.jobs.stats(), context.gpus.gpus());
    await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
  },
};

/**
 * The reply: one line for the queue (jobs waiting and running, and the slots: batches or jobs run at once, counted as
 * each place's line counts its own), one per place jobs run (as many as fit).
 */
export function queueText(stats: QueueStats, gpus: readonly GpuStatus[]): string {
  // A batch holds the bot's room at most; a GPU worker's own room may be smaller.
  const roomOf = (gpu: GpuStatus) => Math.min(stats.maxBatchSize, gpu.batchRows ?? stats.maxBatchSize);
  const places = gpus.length > 0 ? gpus.map((gpu) => ({ slots: gpu.capacity, batchRows: roomOf(gpu) })) : [{ slots: stats.concurrency, batchRows: stats.maxBatchSize }];
  const queue = `**Queue**: ${stats.queued} waiting · ${stats.running} running · ${slotsOfPlacesText(places)} at once`;
  const lineOf = (gpu: GpuStatus) => gpuLine(gpu, roomOf(gpu));
  const own = gpus.find((gpu) => gpu.worker === undefined);
  if (own) return `${queue}\n**GPU**: this bot's own · ${lineOf(own)}`;
  if (gpus.length === 0) return `${queue}\n**GPU workers**: none online; jobs wait until one registers.`;
  const lines = [queue, `**GPU workers**: ${gpus.length} online`];
  for (const [shown, gpu] of gpus.entries()) {
    const line = `• **${escapeMarkdown(gpu.worker ?? '')}** · ${lineOf(gpu)}`;
    const rest = gpus.length - shown;
    if ([...lines, line].join('\n').length > MAX_CHARS) {
      lines.push(`… and ${rest} more`);
      break;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** A worker's models shown by name; more are counted. */
const MODELS_SHOWN = 5;

/** "cuda · sd15, sdxl · 2 batches at once, up to 4 pictures each · running 1: `<job id>`", or "… · idle". */
function gpuLine(gpu: GpuStatus, batchRows: number): string {
  const where = `${escapeMarkdown(gpu.provider)} · ${modelsText(gpu.models)} · ${capacityText(gpu.capacity, batchRows)}`;
  if (gpu.running === 0) return `${where} · idle`;
  const ids = gpu.jobIds.length > 0 ? `: ${gpu.jobIds.map((id) => `\`${id.replaceAll('`', '')}\``).join(', ')}` : '';
  return `${where} · running ${gpu.running}${ids}`;
}

/** "a, b, c", "a, b, c, d, e and 3 more", or that none is loaded yet (the bot's own models load on first use). */
function modelsText(models: readonly string[]): string {
  if (models.length === 0) return 'no model loaded yet';
  const shown = models.slice(0, MODELS_SHOWN).map((model) => escapeMarkdown(model)).join(', ');
  return models.length > MODELS_SHOWN ? `${shown} and ${models.length - MODELS_SHOWN} more` : shown;
}

/** UNet rows a picture takes with guidance (CFG above 1), as nearly every job has. */
const ROWS_PER_PICTURE = 2;

/** The pictures with guidance that a batch of `rows` UNet rows holds. */
function picturesPerBatch(rows: number): number {
  return Math.floor(rows / ROWS_PER_PICTURE);
}

/**
 * What a slot runs where a batch holds `batchRows` UNet rows: a batch (one job or several compatible ones, run as
 * one), or a job where a batch holds one picture at most, so every job runs alone. The one rule for the queue's line
 * and each place's.
 */
function slotRuns(batchRows: number): 'batch' | 'job' {
  return picturesPerBatch(batchRows) < 2 ? 'job' : 'batch';
}

/** "2 batches", "1 job". */
function slotsText(slots: number, runs: 'batch' | 'job'): string {
  const noun = runs === 'batch' ? (slots === 1 ? 'batch' : 'batches') : slots === 1 ? 'job' : 'jobs';
  return `${slots} ${noun}`;
}

/** The slots of every place, each counted as what it runs: "4 batches", or "3 batches and 1 job". */
function slotsOfPlacesText(places: ReadonlyArray<{ readonly slots: number; readonly batchRows: number }>): string {
  const count = (runs: 'batch' | 'job') => places.filter((place) => slotRuns(place.batchRows) === runs).reduce((sum, { slots }) => sum + slots, 0);
  const [batches, jobs] = [count('batch'), count('job')];
  if (batches > 0 && jobs > 0) return `${slotsText(batches, 'batch')} and ${slotsText(jobs, 'job')}`;
  return jobs > 0 ? slotsText(jobs, 'job') : slotsText(batches, 'batch');
}

/** What a place runs at once: "2 batches at once, up to 4 pictures each", or "1 job at once". */
function capacityText(slots: number, batchRows: number): string {
  const runs = slotRuns(batchRows);
  const atOnce = `${slotsText(slots, runs)} at once`;
  return runs === 'job' ? atOnce : `${atOnce}, up to ${picturesPerBatch(batchRows)} pictures each`;
}
