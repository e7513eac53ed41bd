import { ChannelType, MessageType, type APIDMChannel, type APIUser } from 'discord.js';
import { contentTypeFor, createAttachment } from './attachments.js';
import type { Cdn } from './cdn.js';
import type { ChangeFeed } from './change-feed.js';
import type { FakeClock } from './clock.js';
import { DiscordError } from './discord-error.js';
import { FakeMessage } from './fake-message.js';
import type { MessageWrite } from './message-write.js';
import type { Snowflakes } from './snowflakes.js';

/** What the direct messages need from the rest of the fake. */
export interface DirectMessagesDeps {
  readonly ids: Snowflakes;
  readonly clock: FakeClock;
  readonly cdn: Cdn;
  readonly changes: ChangeFeed;
  /** The user with `id` among the members of the bot's guilds. */
  readonly findUser: (id: string) => APIUser | undefined;
}

/** A bot's upload limit in a direct message: Discord's default, whatever a server's boosts give its channels. */
export const DIRECT_MESSAGE_SIZE_LIMIT = 10 * 1024 * 1024;

/**
 * The bot's direct messages: one DM channel per user (`POST /users/@me/channels`, as Discord makes it), and the
 * messages the bot sends there. A user who does not take direct messages from the server's members gets none:
 * the send answers 403 50007, as Discord does (opening the channel still works). No gateway events: the bot does
 * not ask for the DirectMessages intent.
 */
export class DirectMessages {
  readonly #deps: DirectMessagesDeps;
  /** DM channel id → the user it is with. */
  readonly #channels = new Map<string, APIUser>();
  readonly #closed = new Set<string>();
  readonly #messages: FakeMessage[] = [];

  constructor(deps: DirectMessagesDeps) {
    this.#deps = deps;
  }

  /** The DM channel with user `recipientId` (made on first use); 404 10013 for a user the bot shares no guild with. */
  open(recipientId: string): APIDMChannel {
    const user = this.#deps.findUser(recipientId);
    if (!user) throw new DiscordError(404, 10013, 'Unknown User');
    let id = [...this.#channels].find(([, recipient]) => recipient.id === user.id)?.[0];
    if (id === undefined) {
      id = this.#deps.ids.next();
      this.#channels.set(id, user);
    }
    return { id, type: ChannelType.DM, name: null, last_message_id: null, recipients: [user] };
  }

  /** Whether `channelId` is a DM channel. */
  has(channelId: string): boolean {
    return this.#channels.has(channelId);
  }

  /** The bot sends `write` in DM channel `channelId`. */
  send(channelId: string, author: APIUser, write: MessageWrite): FakeMessage {
    const recipient = this.#channels.get(channelId);
    if (!recipient) throw new DiscordError(404, 10003, 'Unknown Channel');
    if (this.#closed.has(recipient.id)) throw new DiscordError(403, 50007, 'Cannot send messages to this user');
    const id = this.#deps.ids.next();
    const attachments = write.files.map((file) => {
      const attachmentId = this.#deps.ids.next();
      const contentType = contentTypeFor(file.filename, file.contentType);
      const url = this.#deps.cdn.put(['attachments', channelId, attachmentId, file.filename], { bytes: file.bytes, contentType });
      return createAttachment({ id: attachmentId, filename: file.filename, bytes: file.bytes, contentType, url });
    });
    const version = { at: this.#deps.clock.now(), content: write.content ?? '', embeds: write.embeds ?? [], components: [], attachments, flags: 0 };
    const message = new FakeMessage({ id, channelId, guildId: '', author, type: MessageType.Default }, version);
    this.#messages.push(message);
    this.#deps.changes.notify();
    return message;
  }

  /** The user's privacy setting "Allow direct messages from server members", off. */
  close(userId: string): void {
    this.#closed.add(userId);
  }

  /** The messages sent to `userId`, oldest first. */
  to(userId: string): FakeMessage[] {
    return this.#messages.filter((message) => this.#channels.get(message.channelId)?.id === userId);
  }
}
