import { ActionRowBuilder, ButtonBuilder, ButtonStyle, type MessageActionRowComponentBuilder } from 'discord.js';
import type { Screening } from '../../jobs/content-screen.js';
import type { JobRecord } from '../../jobs/job-record.js';
import { buttonId } from './custom-id.js';

/** The line above a result whose files are spoilers. */
export const SPOILER_WARNING = "⚠️ Content warning: this server's content filter flagged this result as possibly explicit.";

/**
 * The public notice where a withheld result would have been. Neutral on purpose: it names neither the member nor
 * the prompt, since either may be what the filter reacted to.
 */
export function withheldContent(record: JobRecord): string {
  return `🚫 A result was withheld by this server's content policy.\nJob \`${record.id}\``;
}

/** Under the notice, only ℹ️: its parameters, for moderators (the picture itself is deleted). */
export function withheldComponents(record: JobRecord): ActionRowBuilder<MessageActionRowComponentBuilder>[] {
  return [
    new ActionRowBuilder<MessageActionRowComponentBuilder>().addComponents(
      new ButtonBuilder().setCustomId(buttonId('details', record.id)).setLabel('Details (moderators)').setEmoji('ℹ️').setStyle(ButtonStyle.Secondary),
    ),
  ];
}

/** What the member alone is told about their withheld result. */
export function withheldPrivately(screening: Screening): string {
  const scored = screening.scores.filter((score): score is number => score !== null);
  const why =
    scored.length < screening.scores.length
      ? 'the content filter could not check it, and unchecked pictures are not posted here'
      : `the content filter scored it ${Math.max(...scored).toFixed(2)} explicit, over this server's threshold of ${screening.threshold}`;
  return `Your result was not posted: ${why}. Its pictures were deleted.${
    screening.ageRestricted ? '' : ' Explicit pictures belong in age-restricted channels, where the server may allow them.'
  }`;
}
