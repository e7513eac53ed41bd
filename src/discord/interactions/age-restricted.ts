import type { Channel } from 'discord.js';

/**
 * Whether Discord marks `channel` age-restricted (its NSFW flag). A thread follows its parent channel; DMs and
 * channels the bot cannot see count as not restricted, so the stricter `nsfwOutside` policy applies to them.
 */
export function isAgeRestricted(channel: Channel | null | undefined): boolean {
  if (!channel || channel.isDMBased()) return false;
  if (channel.isThread()) return channel.parent?.nsfw ?? false;
  return 'nsfw' in channel && channel.nsfw;
}
