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
 * `/queue`: the queue's length, and where jobs run — each GPU worker online with its provider, models, capacity and
 * the jobs it runs now (their ids are the ones the bot and the worker log), or the bot's own pipeline. Ephemeral:
 * it is a look, not news for the channel.
 */
export const queueCommand: SlashCommand = {
  data,
  async execute(interaction, context) {
    const content = queueText(context.jobs.stats(), context.gpus.gpus());
    await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
  },
};

/** The reply: one line for the queue, one per place jobs run (as many as fit). */
export function queueText(stats: QueueStats, gpus: readonly GpuStatus[]): string {
  const queue = `**Queue**: ${stats.queued} waiting · ${stats.running} running · ${stats.concurrency} at once`;
  const own = gpus.find((gpu) => gpu.worker === undefined);
  if (own) return `${queue}\n**GPU**: this bot's own · ${gpuLine(own)}`;
  if (gpus.length === 0) return `${queue}\n**GPU workers**: none online; jobs wait until one registers.`;
  const lines = [queue, `**GPU workers**: ${gpus.length} online`];
  for (const [shown, gpu] of gpus.entries()) {
    const line = `• **${escapeMarkdown(gpu.worker ?? '')}** · ${gpuLine(gpu)}`;
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

/** "cuda · sd15, sdxl · 2 at once · running 1: `<job id>`", or "… · idle". */
function gpuLine(gpu: GpuStatus): string {
  const where = `${escapeMarkdown(gpu.provider)} · ${modelsText(gpu.models)} · ${gpu.capacity} at once`;
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
