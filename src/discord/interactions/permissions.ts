import { PermissionFlagsBits, type PermissionsBitField } from 'discord.js';

/** What the bot needs in a channel to post results there (progress, images, embeds, late deliveries). */
const NEEDED = [
  ['Send Messages', PermissionFlagsBits.SendMessages],
  ['Attach Files', PermissionFlagsBits.AttachFiles],
  ['Embed Links', PermissionFlagsBits.EmbedLinks],
  ['Add Reactions', PermissionFlagsBits.AddReactions],
] as const;

/** A sentence naming the permissions the bot lacks in this channel, or undefined when it has them all. */
export function missingPermissionsMessage(appPermissions: Readonly<PermissionsBitField> | null): string | undefined {
  if (!appPermissions) return undefined; // direct messages: no channel permissions apply
  const missing = NEEDED.filter(([, flag]) => !appPermissions.has(flag)).map(([name]) => `**${name}**`);
  if (missing.length === 0) return undefined;
  return `I can't post results in this channel: I'm missing the ${missing.join(', ')} permission${missing.length > 1 ? 's' : ''}. Ask a moderator to grant ${missing.length > 1 ? 'them' : 'it'}, or use another channel.`;
}
