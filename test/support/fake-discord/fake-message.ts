import {
  MessageFlags,
  type APIEmbed,
  type APIMessage,
  type APIMessageInteractionMetadata,
  type APIMessageTopLevelComponent,
  type APIPartialEmoji,
  type APIReaction,
  type APIUser,
  type MessageType,
} from 'discord.js';
import { apiAttachment, type FakeAttachment } from './attachments.js';
import { customIdsIn } from './message-components.js';

/** One state of a message: as created, or after one edit. */
export interface MessageVersion {
  /** Fake-clock time of the create or edit, in epoch milliseconds. */
  readonly at: number;
  readonly content: string;
  readonly embeds: readonly APIEmbed[];
  readonly components: readonly APIMessageTopLevelComponent[];
  readonly attachments: readonly FakeAttachment[];
  readonly flags: number;
}

/** Where a message comes from and who wrote it; fixed for the message's life. */
export interface MessageOrigin {
  readonly id: string;
  readonly channelId: string;
  readonly guildId: string;
  readonly author: APIUser;
  readonly type: MessageType;
  /** Set on interaction responses: they are sent through the application's webhook. */
  readonly applicationId?: string;
  readonly interactionMetadata?: APIMessageInteractionMetadata;
}

interface Reaction {
  readonly emoji: APIPartialEmoji;
  readonly users: Set<string>;
}

/** The key of an emoji in `reactions`: the character itself, or `name:id` for a custom emoji. */
export function emojiKey(emoji: APIPartialEmoji): string {
  return emoji.id ? `${emoji.name ?? ''}:${emoji.id}` : (emoji.name ?? '');
}

/**
 * A message the fake holds, with every version it went through (so tests can read each edit and when it
 * happened), its reactions, and whether it was deleted. Read-only for tests; the fake's routes change it.
 */
export class FakeMessage {
  readonly id: string;
  readonly channelId: string;
  readonly guildId: string;
  readonly author: APIUser;
  readonly type: MessageType;
  readonly #origin: MessageOrigin;
  readonly #versions: MessageVersion[];
  readonly #reactions = new Map<string, Reaction>();
  #deletedAt: number | undefined;

  constructor(origin: MessageOrigin, first: MessageVersion) {
    this.id = origin.id;
    this.channelId = origin.channelId;
    this.guildId = origin.guildId;
    this.author = origin.author;
    this.type = origin.type;
    this.#origin = origin;
    this.#versions = [first];
  }

  /** Every version, the first being the message as created. */
  get versions(): readonly MessageVersion[] {
    return this.#versions;
  }

  /** The versions made by edits, oldest first: their `at` times give the edit rate. */
  get edits(): readonly MessageVersion[] {
    return this.#versions.slice(1);
  }

  /** The message as it is now. */
  get latest(): MessageVersion {
    return this.#versions[this.#versions.length - 1] as MessageVersion;
  }

  /** Fake-clock time of creation, in epoch milliseconds. */
  get createdAt(): number {
    return this.#versions[0]?.at ?? 0;
  }

  get content(): string {
    return this.latest.content;
  }

  get embeds(): readonly APIEmbed[] {
    return this.latest.embeds;
  }

  get components(): readonly APIMessageTopLevelComponent[] {
    return this.latest.components;
  }

  get attachments(): readonly FakeAttachment[] {
    return this.latest.attachments;
  }

  get flags(): number {
    return this.latest.flags;
  }

  /** Only the member who ran the interaction sees it; it never reaches the channel or the gateway. */
  get ephemeral(): boolean {
    return (this.flags & MessageFlags.Ephemeral) !== 0;
  }

  /** A deferred response still showing "thinking…". */
  get loading(): boolean {
    return (this.flags & MessageFlags.Loading) !== 0;
  }

  /** The `custom_id` of every button and select menu on the message. */
  get customIds(): string[] {
    return customIdsIn(this.components);
  }

  get deleted(): boolean {
    return this.#deletedAt !== undefined;
  }

  /** Who reacted with what: emoji key (see `emojiKey`) → user ids. */
  get reactions(): ReadonlyMap<string, ReadonlySet<string>> {
    return new Map([...this.#reactions].map(([key, reaction]) => [key, reaction.users]));
  }

  /** Adds a version (the fake's routes call this on every edit). */
  revise(version: MessageVersion): void {
    this.#versions.push(version);
  }

  /** Marks the message deleted at `at`; its versions stay readable. */
  markDeleted(at: number): void {
    this.#deletedAt = at;
  }

  /** Adds or removes one user's reaction; false when nothing changed. */
  setReaction(emoji: APIPartialEmoji, userId: string, present: boolean): boolean {
    const key = emojiKey(emoji);
    const reaction = this.#reactions.get(key) ?? { emoji, users: new Set<string>() };
    if (reaction.users.has(userId) === present) return false;
    if (present) reaction.users.add(userId);
    else reaction.users.delete(userId);
    if (reaction.users.size > 0) this.#reactions.set(key, reaction);
    else this.#reactions.delete(key);
    return true;
  }

  /** The message as Discord sends it, seen by `viewerId` (which decides `reactions[].me`). */
  toApi(viewerId: string): APIMessage {
    const latest = this.latest;
    const reactions = [...this.#reactions.values()].map((r): APIReaction => ({
      emoji: r.emoji,
      count: r.users.size,
      count_details: { burst: 0, normal: r.users.size },
      me: r.users.has(viewerId),
      me_burst: false,
      burst_colors: [],
    }));
    return {
      id: this.id,
      channel_id: this.channelId,
      author: this.author,
      content: latest.content,
      timestamp: new Date(this.createdAt).toISOString(),
      edited_timestamp: this.#versions.length > 1 ? new Date(latest.at).toISOString() : null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: latest.attachments.map(apiAttachment),
      embeds: [...latest.embeds],
      components: [...latest.components],
      pinned: false,
      type: this.type,
      flags: latest.flags,
      ...(reactions.length > 0 ? { reactions } : {}),
      ...(this.#origin.applicationId
        ? { webhook_id: this.#origin.applicationId, application_id: this.#origin.applicationId }
        : {}),
      ...(this.#origin.interactionMetadata ? { interaction_metadata: this.#origin.interactionMetadata } : {}),
    };
  }
}
