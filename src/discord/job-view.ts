import {
  DiscordAPIError,
  InteractionWebhook,
  RESTJSONErrorCodes,
  type Client,
  type MessageCreateOptions,
  type MessageEditOptions,
} from 'discord.js';
import type { JobRecord } from '../jobs/job-record.js';

/** What a job's message shows: text, embeds, files and buttons (the subset create and edit both take). */
export type ViewPayload = Pick<MessageCreateOptions & MessageEditOptions, 'content' | 'embeds' | 'components' | 'files'> & {
  readonly files?: MessageCreateOptions['files'];
};

/** Interaction tokens live 15 minutes; edits stop a minute early so a slow upload cannot straddle the expiry. */
export const TOKEN_LIFETIME_MS = 14 * 60_000;

/** Errors that mean "this message or token is gone": nothing to retry, and never worth a crash. */
const GONE = new Set<number>([
  RESTJSONErrorCodes.UnknownMessage,
  RESTJSONErrorCodes.UnknownWebhook,
  RESTJSONErrorCodes.InvalidWebhookToken,
  RESTJSONErrorCodes.UnknownInteraction,
  RESTJSONErrorCodes.UnknownChannel,
]);

export function isGone(error: unknown): boolean {
  return error instanceof DiscordAPIError && typeof error.code === 'number' && GONE.has(error.code);
}

/**
 * Shows a job in Discord: by editing the interaction's reply while its token lives, else through an ordinary
 * channel message (the bot's own, editable for ever). Returns the message id shown, or undefined when the
 * message is gone (deleted by a member).
 */
export class JobView {
  readonly #client: Client<true>;
  readonly #record: JobRecord;
  readonly #now: () => number;

  constructor(client: Client<true>, record: JobRecord, now: () => number = Date.now) {
    this.#client = client;
    this.#record = record;
    this.#now = now;
  }

  /** Whether the interaction token can still be used. */
  get tokenAlive(): boolean {
    const interaction = this.#record.origin.interaction;
    return interaction !== undefined && this.#now() - interaction.createdAt < TOKEN_LIFETIME_MS;
  }

  /** Whether the job's message can still be edited: always for the bot's own channel messages. */
  get editable(): boolean {
    return this.#record.origin.interaction === undefined || this.tokenAlive;
  }

  /** Replaces what the job's message shows (creating the message for jobs without an interaction). */
  async show(payload: ViewPayload): Promise<string | undefined> {
    const interaction = this.#record.origin.interaction;
    try {
      if (interaction && this.tokenAlive) {
        const webhook = new InteractionWebhook(this.#client, interaction.applicationId, interaction.token);
        return (await webhook.editMessage('@original', { ...payload, attachments: [] })).id;
      }
      if (this.#record.messageId && !interaction) {
        const channel = await this.#channel();
        return (await channel.messages.edit(this.#record.messageId, { ...payload, attachments: [] })).id;
      }
      return (await this.post(payload)).id;
    } catch (error) {
      if (isGone(error)) return undefined;
      throw error;
    }
  }

  /** Posts a new channel message for the job, replying to its progress message (or what it was rolled on). */
  async post(payload: ViewPayload): Promise<{ id: string }> {
    const channel = await this.#channel();
    const replyTo = this.#record.messageId ?? this.#record.origin.replyToMessageId;
    const options: MessageCreateOptions = {
      ...payload,
      allowedMentions: { users: [this.#record.origin.userId] },
      ...(replyTo ? { reply: { messageReference: replyTo, failIfNotExists: false } } : {}),
    };
    return channel.send(options);
  }

  async #channel() {
    const channel = await this.#client.channels.fetch(this.#record.origin.channelId);
    if (!channel?.isSendable()) throw new Error(`Channel ${this.#record.origin.channelId} cannot take messages.`);
    return channel;
  }
}
