import {
  GatewayDispatchEvents,
  MessageFlags,
  MessageType,
  type APIEmbed,
  type APIMessageInteractionMetadata,
  type APIPartialEmoji,
  type APIUser,
} from 'discord.js';
import { apiMember } from './api-objects.js';
import { contentTypeFor, createAttachment, type FakeAttachment } from './attachments.js';
import type { Cdn } from './cdn.js';
import type { ChangeFeed } from './change-feed.js';
import type { FakeClock } from './clock.js';
import { DiscordErrors } from './discord-error.js';
import { FakeMessage, type MessageVersion } from './fake-message.js';
import type { MessageWrite } from './message-write.js';
import type { Publish } from './publish.js';
import type { Snowflakes } from './snowflakes.js';
import type { FakeChannel, World } from './world.js';

/** What the store needs from the rest of the fake. */
export interface MessageStoreDeps {
  readonly ids: Snowflakes;
  readonly clock: FakeClock;
  readonly cdn: Cdn;
  readonly world: World;
  readonly publish: Publish;
  readonly changes: ChangeFeed;
}

/** A message about to be created. */
export interface NewMessage {
  readonly channel: FakeChannel;
  readonly author: APIUser;
  readonly write: MessageWrite;
  /** @default MessageType.Default */
  readonly type?: MessageType;
  /** Flags fixed by how the message is made (Ephemeral, Loading), added to those the write asks for. */
  readonly flags?: number;
  readonly applicationId?: string;
  readonly interactionMetadata?: APIMessageInteractionMetadata;
}

/** The flags a message write may set itself. */
const WRITABLE_FLAGS =
  MessageFlags.SuppressEmbeds | MessageFlags.SuppressNotifications | MessageFlags.IsComponentsV2 | MessageFlags.Ephemeral;

/**
 * Every message of every channel, ephemeral ones included. Creating, editing, deleting and reacting dispatch the
 * gateway events Discord sends for them (none for ephemeral messages).
 */
export class MessageStore {
  readonly #deps: MessageStoreDeps;
  readonly #messages = new Map<string, FakeMessage>();

  constructor(deps: MessageStoreDeps) {
    this.#deps = deps;
  }

  /** The message with `id`, deleted or not. */
  find(id: string): FakeMessage | undefined {
    return this.#messages.get(id);
  }

  /** The channel's visible messages (not deleted, not ephemeral), oldest first. */
  inChannel(channelId: string): FakeMessage[] {
    return [...this.#messages.values()].filter((m) => m.channelId === channelId && !m.deleted && !m.ephemeral);
  }

  /** Creates a message, storing its uploads on the CDN. */
  create(spec: NewMessage): FakeMessage {
    const id = this.#deps.ids.next();
    const flags = ((spec.write.flags ?? 0) & WRITABLE_FLAGS) | (spec.flags ?? 0);
    const first = this.#version(spec.write, undefined, spec.channel.id, flags);
    const message = new FakeMessage(
      {
        id,
        channelId: spec.channel.id,
        guildId: spec.channel.guildId,
        author: spec.author,
        type: spec.type ?? MessageType.Default,
        ...(spec.applicationId ? { applicationId: spec.applicationId } : {}),
        ...(spec.interactionMetadata ? { interactionMetadata: spec.interactionMetadata } : {}),
      },
      first,
    );
    this.#messages.set(id, message);
    this.#announce(GatewayDispatchEvents.MessageCreate, message);
    return message;
  }

  /** Applies `write` to `message` (which ends any "thinking…" state); 404 10008 once it is deleted. */
  edit(message: FakeMessage, write: MessageWrite): void {
    if (message.deleted) throw DiscordErrors.unknownMessage();
    const previous = message.latest;
    const asked = write.flags ?? previous.flags;
    const flags = (asked & WRITABLE_FLAGS & ~MessageFlags.Ephemeral) | (previous.flags & MessageFlags.Ephemeral);
    message.revise(this.#version(write, previous, message.channelId, flags));
    this.#announce(GatewayDispatchEvents.MessageUpdate, message);
  }

  /** Deletes `message`; 404 10008 if it already was. */
  delete(message: FakeMessage): void {
    if (message.deleted) throw DiscordErrors.unknownMessage();
    message.markDeleted(this.#deps.clock.now());
    if (!message.ephemeral) {
      const { id, channelId: channel_id, guildId: guild_id } = message;
      this.#deps.publish(GatewayDispatchEvents.MessageDelete, { id, channel_id, guild_id });
    }
    this.#deps.changes.notify();
  }

  /** Adds or removes `user`'s reaction, dispatching MESSAGE_REACTION_ADD / _REMOVE when that changed anything. */
  react(message: FakeMessage, emoji: APIPartialEmoji, user: APIUser, present: boolean): void {
    if (message.deleted) throw DiscordErrors.unknownMessage();
    if (!message.setReaction(emoji, user.id, present)) return;
    const base = {
      user_id: user.id,
      channel_id: message.channelId,
      message_id: message.id,
      guild_id: message.guildId,
      emoji,
      burst: false,
      type: 0,
    };
    if (present) {
      const member = this.#deps.world.findGuild(message.guildId)?.members.get(user.id);
      this.#deps.publish(GatewayDispatchEvents.MessageReactionAdd, {
        ...base,
        message_author_id: message.author.id,
        burst_colors: [],
        ...(member ? { member: apiMember(member) } : {}),
      });
    } else {
      this.#deps.publish(GatewayDispatchEvents.MessageReactionRemove, base);
    }
    this.#deps.changes.notify();
  }

  /** MESSAGE_CREATE / MESSAGE_UPDATE carry the whole message plus the guild and the author's member. */
  #announce(event: GatewayDispatchEvents, message: FakeMessage): void {
    if (!message.ephemeral) {
      const member = this.#deps.world.findGuild(message.guildId)?.members.get(message.author.id);
      this.#deps.publish(event, {
        ...message.toApi(this.#deps.world.bot.id),
        guild_id: message.guildId,
        ...(member ? { member: apiMember(member) } : {}),
      });
    }
    this.#deps.changes.notify();
  }

  #version(write: MessageWrite, previous: MessageVersion | undefined, channelId: string, flags: number): MessageVersion {
    const attachments = this.#attachments(write, previous?.attachments ?? [], channelId);
    const embeds = write.embeds === undefined ? (previous?.embeds ?? []) : (write.embeds ?? []);
    return {
      at: this.#deps.clock.now(),
      content: write.content === undefined ? (previous?.content ?? '') : (write.content ?? ''),
      embeds: embeds.map((embed) => resolveAttachmentUrls(embed, attachments)),
      components: write.components === undefined ? (previous?.components ?? []) : (write.components ?? []),
      attachments,
      flags,
    };
  }

  /**
   * Discord's rule: with `attachments` in the write, the message keeps exactly those listed (existing ones by id,
   * new uploads by their `files[n]` key); without it, existing attachments stay and new uploads are added.
   */
  #attachments(write: MessageWrite, existing: readonly FakeAttachment[], channelId: string): FakeAttachment[] {
    const upload = (key: string, filename?: string, description?: string): FakeAttachment | undefined => {
      const file = write.files.find((f) => f.key === key);
      if (!file) return undefined;
      const id = this.#deps.ids.next();
      const name = filename ?? file.filename;
      const contentType = contentTypeFor(name, file.contentType);
      const url = this.#deps.cdn.put(['attachments', channelId, id, name], { bytes: file.bytes, contentType });
      return createAttachment({ id, filename: name, bytes: file.bytes, contentType, url, description });
    };
    if (!write.attachments) {
      const added = write.files.map((f) => upload(f.key)).filter((a) => a !== undefined);
      return [...(write.attachments === null ? [] : existing), ...added];
    }
    return write.attachments.map((ref, i) => {
      const attachment = upload(ref.id, ref.filename ?? undefined, ref.description ?? undefined) ?? existing.find((a) => a.id === ref.id);
      if (!attachment) {
        throw DiscordErrors.invalidFormBody([
          { path: `attachments.${i}.id`, code: 'ATTACHMENT_NOT_FOUND', message: `Unknown attachment ${ref.id}` },
        ]);
      }
      return attachment;
    });
  }
}

/** Discord replaces `attachment://name` in embed images with the attachment's URL (and its size). */
function resolveAttachmentUrls(embed: APIEmbed, attachments: readonly FakeAttachment[]): APIEmbed {
  const resolve = <T extends { url: string }>(media: T | undefined): T | undefined => {
    const name = media?.url.startsWith('attachment://') ? media.url.slice('attachment://'.length) : undefined;
    const attachment = attachments.find((a) => a.filename === name);
    if (!media || !attachment) return media;
    return { ...media, url: attachment.url, proxy_url: attachment.url, width: attachment.width, height: attachment.height };
  };
  const image = resolve(embed.image);
  const thumbnail = resolve(embed.thumbnail);
  return { ...embed, ...(image ? { image } : {}), ...(thumbnail ? { thumbnail } : {}) };
}
