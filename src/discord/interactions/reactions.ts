import type { MessageReaction, PartialMessageReaction, PartialUser, User } from 'discord.js';
import type { CommandContext } from './command.js';
import { admitJob } from '../../jobs/admit.js';
import { rerollRequest } from '../../jobs/reroll.js';
import { isGone } from '../delivery/job-view.js';
import { isMailEmoji } from '../delivery/mail-emoji.js';
import { mailFullPictures } from './mail-reaction.js';
import { isAgeRestricted } from './age-restricted.js';
import { refusalText } from './refusal-text.js';

/** Reactions that reroll a result with a new seed. */
export const REROLL_EMOJIS = new Set(['🎲', '🔁']);
/** The bot's mark that it saw a reroll reaction and queued the job. */
const SEEN_EMOJI = '⏳';

/** Reactions on results, old ones too (after a restart the reaction may be partial): 🎲 / 🔁 reroll, ✉️ mails the PNGs. */
export async function handleReaction(
  reaction: MessageReaction | PartialMessageReaction,
  user: User | PartialUser,
  context: CommandContext,
): Promise<void> {
  if (user.bot) return;
  if (isMailEmoji(reaction.emoji.name)) return mailFullPictures(reaction, user, context);
  if (REROLL_EMOJIS.has(reaction.emoji.name ?? '')) return reroll(reaction, user, context);
}

/**
 * 🎲 or 🔁 on any bot result queues the same request with a new seed for the member who reacted, under that member's
 * limits. Refusals that only mean "wait" (cooldown, queue limit) stay silent, so spamming the reaction yields one job
 * and no noise.
 */
async function reroll(reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser, context: CommandContext): Promise<void> {
  const record = await context.jobs.byMessage(reaction.message.id);
  // `undelivered` too: the result is on the message a moment before its record says `completed`, and a member can
  // react in that moment. Earlier states have no result to reroll; later ones (blocked, failed…) none to show.
  if (!record || (record.status !== 'completed' && record.status !== 'undelivered')) return;
  const guildId = reaction.message.guildId;
  const { settings } = await context.settings.effective(guildId);
  if (!settings.rerollReactions) return;
  const admitted = await admitJob(
    context,
    {
      userId: user.id,
      userName: user.displayName ?? user.username ?? user.id,
      guildId,
      channelId: reaction.message.channelId,
      ageRestricted: isAgeRestricted(reaction.message.channel),
      replyToMessageId: reaction.message.id,
      via: 'reroll-reaction',
    },
    rerollRequest(record),
  );
  if (admitted.ok) {
    context.log.info({ jobId: admitted.record.id, userId: user.id, guildId, via: 'reroll-reaction' }, 'job accepted');
    await reaction.message.react(SEEN_EMOJI).catch((error: unknown) => {
      if (!isGone(error)) throw error;
    });
    return;
  }
  if (admitted.code === 'COOLDOWN' || admitted.code === 'QUEUE') return;
  const channel = reaction.message.channel;
  if (channel.isSendable()) {
    await channel.send({
      content: `<@${user.id}> ${refusalText(admitted)}`,
      allowedMentions: { users: [user.id] },
      reply: { messageReference: reaction.message.id, failIfNotExists: false },
    });
  }
}
