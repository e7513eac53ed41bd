import {
  AttachmentBuilder,
  DiscordAPIError,
  MessageFlags,
  RESTJSONErrorCodes,
  type Message,
  type MessageReaction,
  type PartialMessage,
  type PartialMessageReaction,
  type PartialUser,
  type User,
} from 'discord.js';
import type { CommandContext } from './command.js';
import { withParameters } from '../../pipeline/index.js';
import { isGone } from '../delivery/job-view.js';

/** A bot's upload limit in a direct message (Discord's default: a server's boosts do not reach DMs). */
const DIRECT_MESSAGE_UPLOAD_LIMIT = 10 * 1024 * 1024;

/**
 * ✉️ on a result: its full pictures for the member who reacted, in a direct message — the stored PNGs with their A1111
 * parameters, whatever the channel got (over its upload limit, WebP or JPEG). A spoilered result stays spoilered. A
 * member who does not take direct messages from the server's members is told so in a short silent reply.
 */
export async function mailFullPictures(
  reaction: MessageReaction | PartialMessageReaction,
  user: User | PartialUser,
  context: CommandContext,
): Promise<void> {
  // The result is on the message a moment before its record says `completed`: a member who reacts at once waits for it.
  const record = await context.jobs.deliveredByMessage(reaction.message.id);
  // Only shown results: a withheld one's pictures are gone, and a job still under way has none yet.
  if (record?.status !== 'completed' || !record.result) return;
  const message = await fetched(reaction.message);
  if (!message) return;
  const spoiler = message.attachments.some((attachment) => attachment.spoiler);
  const files: AttachmentBuilder[] = [];
  const tooLarge: number[] = [];
  for (const [index, seed] of record.result.seeds.entries()) {
    const stored = await context.inputs.storedResult(record, index);
    if (!stored.ok) return tellQuietly(message, user.id, stored.message);
    const parameters = record.result.parameters?.[index];
    const png = parameters === undefined ? stored.png : withParameters(stored.png, parameters);
    if (png.length > DIRECT_MESSAGE_UPLOAD_LIMIT) tooLarge.push(index + 1);
    else files.push(new AttachmentBuilder(Buffer.from(png), { name: `${spoiler ? 'SPOILER_' : ''}dreamcord-${record.id.slice(0, 8)}-${seed}.png` }));
  }
  const over = tooLarge.length === 0 ? '' : `\nPicture ${tooLarge.join(', ')} is over Discord's 10 MiB limit for direct messages.`;
  try {
    await user.send({ content: `The full pictures of job \`${record.id}\`, with their parameters: ${message.url}${over}`, files });
    context.log.info({ jobId: record.id, userId: user.id, files: files.length }, 'full pictures sent by direct message');
  } catch (error) {
    if (!(error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.CannotSendMessagesToThisUser)) throw error;
    await tellQuietly(message, user.id, 'I can\'t send you direct messages: allow direct messages from this server\'s members to get the full pictures.');
  }
}

/** The message itself: a reaction on a message from before a restart arrives partial. Undefined once it is deleted. */
async function fetched(message: Message | PartialMessage): Promise<Message | undefined> {
  try {
    return message.partial ? await message.fetch() : message;
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

/** A short reply to `message` that mentions the member without a notification (Discord's silent messages). */
async function tellQuietly(message: Message, userId: string, text: string): Promise<void> {
  if (!message.channel.isSendable()) return;
  await message.channel.send({
    content: `<@${userId}> ${text}`,
    flags: MessageFlags.SuppressNotifications,
    allowedMentions: { users: [userId] },
    reply: { messageReference: message.id, failIfNotExists: false },
  });
}
