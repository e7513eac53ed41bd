import { createHash } from 'node:crypto';
import {
  DiscordAPIError,
  InteractionWebhook,
  MessageFlags,
  RESTJSONErrorCodes,
  type Client,
  type MessageCreateOptions,
  type MessageEditOptions,
} from 'discord.js';
import type { JobRecord } from '../../jobs/job-record.js';

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
 * The Discord calls that show one job: editing the interaction's reply while its token lives, editing a channel
 * message the bot posted for the job (the bot's own, editable for ever), or posting a new one. Edits resolve to
 * undefined when the message or token is gone (deleted by a moderator, expired), so callers can stop editing it.
 * Every write mentions only the member who asked: a prompt that says @everyone must not ping anyone.
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

  /** Replaces what the interaction's reply shows; its message id, or undefined when the reply or token is gone. */
  async editReply(payload: ViewPayload): Promise<string | undefined> {
    const interaction = this.#record.origin.interaction;
    if (!interaction || !this.tokenAlive) return undefined;
    const webhook = new InteractionWebhook(this.#client, interaction.applicationId, interaction.token);
    return unlessGone(async () => (await webhook.editMessage('@original', this.#edit(payload))).id);
  }

  /** Sends the member an ephemeral follow-up, while the interaction's token lives; false when it cannot. */
  async tellPrivately(content: string): Promise<boolean> {
    const interaction = this.#record.origin.interaction;
    if (!interaction || !this.tokenAlive) return false;
    const webhook = new InteractionWebhook(this.#client, interaction.applicationId, interaction.token);
    await webhook.send({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    return true;
  }

  /** Replaces what channel message `messageId` (posted by the bot for this job) shows; undefined when it is gone. */
  async editPosted(messageId: string, payload: ViewPayload): Promise<string | undefined> {
    return unlessGone(async () => {
      const channel = await this.#channel();
      return (await channel.messages.edit(messageId, this.#edit(payload))).id;
    });
  }

  /**
   * Posts a new channel message for the job, replying to `replyTo` when given. `nonce` makes a retried post
   * (after a 5xx that Discord may have carried out anyway, or after a restart that lost Discord's answer) create
   * one message, not two.
   */
  async post(payload: ViewPayload, options: { readonly nonce: string; readonly replyTo?: string | undefined }): Promise<string> {
    const channel = await this.#channel();
    const message = await channel.send({
      ...payload,
      allowedMentions: this.#mentions(),
      nonce: postNonce(this.#record.id, options.nonce),
      enforceNonce: true,
      ...(options.replyTo ? { reply: { messageReference: options.replyTo, failIfNotExists: false } } : {}),
    });
    return message.id;
  }

  #edit(payload: ViewPayload): MessageEditOptions {
    return { ...payload, attachments: [], allowedMentions: this.#mentions() };
  }

  #mentions() {
    return { parse: [], users: [this.#record.origin.userId], repliedUser: false };
  }

  async #channel() {
    const channel = await this.#client.channels.fetch(this.#record.origin.channelId);
    if (!channel?.isSendable()) throw new Error(`Channel ${this.#record.origin.channelId} cannot take messages.`);
    return channel;
  }
}

async function unlessGone(write: () => Promise<string>): Promise<string | undefined> {
  try {
    return await write();
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

/** Discord's nonces are at most 25 characters: a digest of the job and which of its posts this is. */
function postNonce(jobId: string, which: string): string {
  return createHash('sha256').update(`${jobId}:${which}`).digest('base64url').slice(0, 25);
}
