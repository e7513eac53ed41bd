import type { RepliableInteraction } from 'discord.js';
import type { CommandContext } from './command.js';
import { admitJob, type RequestBuilder } from '../../jobs/admit.js';
import type { JobOrigin } from '../../jobs/job-record.js';
import { isAgeRestricted } from './age-restricted.js';
import { missingPermissionsMessage } from './permissions.js';
import { replyPrivately } from './replies.js';
import { refusalText } from './refusal-text.js';

/**
 * Takes a generation request from an interaction (slash command or button) into the queue: acknowledge at once,
 * then admit. Refusals reach only the member who asked; the accepted job's progress is shown in the deferred
 * reply by the presenter.
 */
export async function admitFromInteraction(
  interaction: RepliableInteraction,
  context: CommandContext,
  via: JobOrigin['via'],
  build: RequestBuilder,
): Promise<void> {
  const missing = missingPermissionsMessage(interaction.appPermissions);
  if (missing) return replyPrivately(interaction, missing);
  // Acknowledge before any I/O: Discord allows 3 s, and a burst of commands queues behind the store. Commands that
  // download the member's pictures first have acknowledged already.
  if (!interaction.deferred) await interaction.deferReply();
  const origin: JobOrigin = {
    userId: interaction.user.id,
    userName: memberName(interaction),
    guildId: interaction.guildId,
    channelId: interaction.channelId ?? '',
    ageRestricted: isAgeRestricted(interaction.channel),
    interaction: {
      applicationId: interaction.applicationId,
      token: interaction.token,
      createdAt: Date.now(),
      attachmentSizeLimit: interaction.attachmentSizeLimit,
    },
    via,
  };
  const admitted = await admitJob(context, origin, build);
  if (!admitted.ok) return replyPrivately(interaction, refusalText(admitted));
  context.log.info(
    { jobId: admitted.record.id, userId: origin.userId, guildId: origin.guildId, via, interactionId: interaction.id },
    'job accepted',
  );
}

function memberName(interaction: RepliableInteraction): string {
  const member = interaction.member;
  if (member && 'displayName' in member) return member.displayName;
  return interaction.user.displayName;
}
