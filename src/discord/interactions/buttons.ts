import { MessageFlags, PermissionFlagsBits, type ButtonInteraction } from 'discord.js';
import type { CommandContext } from './command.js';
import { rerollRequest } from '../../jobs/reroll.js';
import { upscaleRequest } from '../../jobs/upscale.js';
import { admitFromInteraction } from './admission.js';
import { admitJobVariation, admitOutpaint, admitPictureUpscale } from './image-command.js';
import type { Outpaint } from '../../inputs/outpaint.js';
import { parseButtonId, type ButtonAction } from '../delivery/custom-id.js';
import { reproduceCommand } from '../delivery/render.js';
import { isGone } from '../delivery/job-view.js';
import { replyPrivately } from './replies.js';
import type { JobRecord } from '../../jobs/job-record.js';

type ButtonHandler = (interaction: ButtonInteraction, record: JobRecord, context: CommandContext, index: number) => Promise<void>;

/**
 * Handlers by action; `index` is the picture the button acts on (0-based: the first for buttons that name none).
 * Each finds its job in the store, so buttons on old messages work after a restart.
 */
const HANDLERS: Record<ButtonAction, ButtonHandler> = {
  reroll: (interaction, record, context) =>
    admitFromInteraction(interaction, context, 'reroll-button', rerollRequest(record)),

  // 🔀 and V1…Vn: the picture with the job's prompt and the server's defaults, as `/variation job: which:`.
  vary: (interaction, record, context, index) =>
    admitJobVariation(interaction, context, 'variation-button', { jobId: record.id, index }, {}),

  'vary-subtle': (interaction, record, context, index) => varyAt(interaction, record, context, index, 'varySubtle'),
  'vary-strong': (interaction, record, context, index) => varyAt(interaction, record, context, index, 'varyStrong'),

  // ⬆️ and U1…Un: an /imagine picture made again with the hires fix; one made from a picture, enlarged and redrawn.
  upscale: (interaction, record, context, index) =>
    record.request.kind === 'txt2img'
      ? admitFromInteraction(interaction, context, 'upscale-button', upscaleRequest(record, index))
      : admitPictureUpscale(interaction, context, { jobId: record.id, index }),

  // Zoom out and pan: the picture on a larger or shifted canvas, the new area inpainted with its prompt.
  'zoom-1.5': outpaintHandler({ kind: 'zoom-out', factor: 1.5 }),
  'zoom-2': outpaintHandler({ kind: 'zoom-out', factor: 2 }),
  'pan-left': outpaintHandler({ kind: 'pan', direction: 'left' }),
  'pan-right': outpaintHandler({ kind: 'pan', direction: 'right' }),
  'pan-up': outpaintHandler({ kind: 'pan', direction: 'up' }),
  'pan-down': outpaintHandler({ kind: 'pan', direction: 'down' }),

  info: (interaction, record) => showParameters(interaction, record, record.status === 'blocked'),

  // The withheld notice's ℹ️: moderators only, whether or not the job's record reads `blocked` yet.
  details: (interaction, record) => showParameters(interaction, record, true),

  delete: async (interaction, record, context) => {
    const { settings } = await context.settings.effective(interaction.guildId);
    const moderator = interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages) ?? false;
    const requester = interaction.user.id === record.origin.userId && settings.deleteResults === 'requester-and-moderators';
    if (!moderator && !requester) {
      const who = settings.deleteResults === 'moderators' ? 'moderators' : 'the member who asked or moderators';
      return replyPrivately(interaction, `Only ${who} can delete this result.`);
    }
    await interaction.deferUpdate();
    // Two clicks at once (or the member and a moderator): the message already gone is the outcome they asked for.
    await interaction.message.delete().catch((error: unknown) => {
      if (!isGone(error)) throw error;
    });
    context.log.info({ jobId: record.id, messageId: interaction.message.id, userId: interaction.user.id, moderator }, 'result deleted');
  },

  cancel: async (interaction, record, context) => {
    const moderator = interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages) ?? false;
    const cancelled = await context.jobs.cancel(record.id, interaction.user.id, moderator);
    if (!cancelled.ok) return replyPrivately(interaction, cancelled.message);
    await interaction.deferUpdate();
  },
};

function outpaintHandler(outpaint: Outpaint): ButtonHandler {
  return (interaction, record, context, index) => admitOutpaint(interaction, context, { jobId: record.id, index }, outpaint);
}

/** Vary (subtle) and Vary (strong): `/variation` of the picture at the server's strength for that button. */
async function varyAt(
  interaction: ButtonInteraction,
  record: JobRecord,
  context: CommandContext,
  index: number,
  strengthKey: 'varySubtle' | 'varyStrong',
): Promise<void> {
  const { settings } = await context.settings.effective(interaction.guildId);
  await admitJobVariation(interaction, context, 'variation-button', { jobId: record.id, index }, { strength: settings[strengthKey] });
}

/**
 * Shows the command that reproduces each of the job's pictures, privately. A withheld result's prompt may be what the
 * filter reacted to: then (`withheld`) its parameters are for moderators.
 */
async function showParameters(interaction: ButtonInteraction, record: JobRecord, withheld: boolean): Promise<void> {
  const moderator = interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages) ?? false;
  if (withheld && !moderator) {
    return replyPrivately(interaction, 'Only moderators can see the details of a result the content policy withheld.');
  }
  const seeds = record.result?.seeds ?? [record.request.seed];
  const commands = seeds.map((_, index) => `\`\`\`\n${reproduceCommand(record, index)}\n\`\`\``).join('');
  await interaction.reply({ content: `Job \`${record.id}\`\n${commands}`.slice(0, 2000), flags: MessageFlags.Ephemeral });
}

/** Routes a button press by its custom id; tampered or unknown ids and vanished jobs get a clear answer. */
export async function handleButton(interaction: ButtonInteraction, context: CommandContext): Promise<void> {
  const parsed = parseButtonId(interaction.customId);
  if (!parsed) return replyPrivately(interaction, "This button isn't one of mine, or it has expired.");
  const record = await context.jobs.get(parsed.jobId);
  // A job of another server is treated as unknown: a forged button must not reveal or rerun it here.
  if (!record || record.origin.guildId !== interaction.guildId) {
    return replyPrivately(interaction, "I can't find that job any more.");
  }
  // The id names the job, but the click acts on its message: both must agree, or a forged id carrying one's own job
  // would delete (or rerun) another member's result.
  const shown = await context.jobs.byMessage(interaction.message.id);
  if (shown?.id !== record.id) {
    context.log.warn(
      { jobId: record.id, messageId: interaction.message.id, messageJobId: shown?.id, userId: interaction.user.id, action: parsed.action },
      'button refused: not on its job\'s message',
    );
    return replyPrivately(interaction, "This button doesn't belong to this message.");
  }
  await HANDLERS[parsed.action](interaction, record, context, (parsed.picture ?? 1) - 1);
}
