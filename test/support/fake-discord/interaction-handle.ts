import type {
  APIApplicationCommandOptionChoice,
  APIModalInteractionResponseCallbackData,
  APIUser,
  InteractionResponseType,
} from 'discord.js';
import type { ChangeFeed } from './change-feed.js';
import type { FakeMessage, MessageVersion } from './fake-message.js';

/** How long an interaction token lasts. */
export const TOKEN_LIFETIME_MS = 15 * 60 * 1000;

/** How long the `waitFor…` helpers wait unless told otherwise. */
export const DEFAULT_WAIT_MS = 5000;

/** Which interaction the fake dispatched. */
export type InteractionKind = 'command' | 'autocomplete' | 'button' | 'modal-submit';

/** How and when the bot acknowledged an interaction. */
export interface Acknowledgement {
  /** 4 reply, 5 deferReply, 6 deferUpdate, 7 update, 8 autocomplete result, 9 modal. */
  readonly type: InteractionResponseType;
  /** Fake-clock time of the callback, in epoch milliseconds. */
  readonly at: number;
  /** Fake-clock milliseconds from dispatch to acknowledgement (Discord allows 3000). */
  readonly latencyMs: number;
  readonly ephemeral: boolean;
}

/** What the fake knows when it dispatches an interaction. */
export interface InteractionInit {
  readonly id: string;
  readonly token: string;
  readonly kind: InteractionKind;
  /** The INTERACTION_CREATE payload as dispatched. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly dispatchedAt: number;
  readonly channelId: string;
  readonly user: APIUser;
  /** For a button or a modal opened from a message: the message, which `update` (7) edits. */
  readonly sourceMessage?: FakeMessage | undefined;
}

/**
 * A test's view of one dispatched interaction: how the bot acknowledged it, its response message with every
 * edit, its follow-ups, and helpers that wait for any of these.
 */
export class InteractionHandle {
  readonly id: string;
  readonly token: string;
  readonly kind: InteractionKind;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly dispatchedAt: number;
  readonly channelId: string;
  readonly user: APIUser;
  readonly sourceMessage: FakeMessage | undefined;
  readonly #changes: ChangeFeed;
  #tokenIssuedAt: number;
  #acknowledgement: Acknowledgement | undefined;
  #original: FakeMessage | undefined;
  readonly #followUps: FakeMessage[] = [];
  #choices: readonly APIApplicationCommandOptionChoice[] | undefined;
  #modal: APIModalInteractionResponseCallbackData | undefined;

  constructor(init: InteractionInit, changes: ChangeFeed) {
    this.id = init.id;
    this.token = init.token;
    this.kind = init.kind;
    this.payload = init.payload;
    this.dispatchedAt = init.dispatchedAt;
    this.channelId = init.channelId;
    this.user = init.user;
    this.sourceMessage = init.sourceMessage;
    this.#tokenIssuedAt = init.dispatchedAt;
    this.#changes = changes;
  }

  /** How and when the bot acknowledged, or `undefined` while it has not. */
  get acknowledgement(): Acknowledgement | undefined {
    return this.#acknowledgement;
  }

  /** Whether the response (reply, deferral or follow-ups) is visible only to the member. */
  get ephemeral(): boolean {
    return this.#acknowledgement?.ephemeral ?? false;
  }

  /**
   * The response message (`@original`): the reply or deferred message, or for `deferUpdate`/`update` the message
   * the button is on.
   */
  get original(): FakeMessage | undefined {
    return this.#original;
  }

  /** The edits of the response message, oldest first, each with its fake-clock time. */
  get edits(): readonly MessageVersion[] {
    return this.#original?.edits ?? [];
  }

  /**
   * Follow-up messages, oldest first. Like Discord, the first follow-up after a `deferReply` fills the deferred
   * message instead, so it shows up as an edit of `original`, not here.
   */
  get followUps(): readonly FakeMessage[] {
    return this.#followUps;
  }

  /** The autocomplete choices the bot answered with (type 8). */
  get choices(): readonly APIApplicationCommandOptionChoice[] | undefined {
    return this.#choices;
  }

  /** The modal the bot opened (type 9). */
  get modal(): APIModalInteractionResponseCallbackData | undefined {
    return this.#modal;
  }

  /** Whether the token has outlived its 15 minutes at fake-clock time `now`. */
  tokenExpired(now: number): boolean {
    return now - this.#tokenIssuedAt > TOKEN_LIFETIME_MS;
  }

  /** Resolves once acknowledged. */
  waitForAck(timeoutMs = DEFAULT_WAIT_MS): Promise<Acknowledgement> {
    return this.#changes.until(() => this.#acknowledgement, timeoutMs, () => `an acknowledgement of ${this.describe()}`);
  }

  /** Resolves once `predicate(this)` holds. */
  async waitFor(predicate: (handle: this) => boolean, timeoutMs = DEFAULT_WAIT_MS, what = 'a condition'): Promise<this> {
    return this.#changes.until(() => (predicate(this) ? this : undefined), timeoutMs, () => `${what} on ${this.describe()}`);
  }

  /**
   * Resolves with the response message once it satisfies `predicate`, by default once it shows something (a reply,
   * or an edit of a deferred response).
   */
  waitForOriginal(predicate: (message: FakeMessage) => boolean = (m) => !m.loading, timeoutMs = DEFAULT_WAIT_MS): Promise<FakeMessage> {
    return this.#changes.until(
      () => (this.#original && predicate(this.#original) ? this.#original : undefined),
      timeoutMs,
      () => `the response message of ${this.describe()}`,
    );
  }

  /** Resolves with the first follow-up that satisfies `predicate`. */
  waitForFollowUp(predicate: (message: FakeMessage) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<FakeMessage> {
    return this.#changes.until(() => this.#followUps.find(predicate), timeoutMs, () => `a follow-up of ${this.describe()}`);
  }

  /** A one-line summary for failure messages. */
  describe(): string {
    const ack = this.#acknowledgement
      ? `acknowledged with type ${this.#acknowledgement.type} after ${this.#acknowledgement.latencyMs} ms`
      : 'not acknowledged';
    const m = this.#original;
    const original = m
      ? `response ${JSON.stringify(m.content)} with ${m.attachments.length} attachment(s), ${m.edits.length} edit(s)`
      : 'no response message';
    return `${this.kind} interaction ${this.id} (${ack}; ${original}; ${this.#followUps.length} follow-up(s))`;
  }

  /** Records the acknowledgement (the callback route calls this). */
  acknowledge(type: InteractionResponseType, at: number, ephemeral: boolean): void {
    this.#acknowledgement = { type, at, latencyMs: at - this.dispatchedAt, ephemeral };
    this.#changes.notify();
  }

  /** Records the response message. */
  setOriginal(message: FakeMessage): void {
    this.#original = message;
    this.#changes.notify();
  }

  /** Records a follow-up message. */
  addFollowUp(message: FakeMessage): void {
    this.#followUps.push(message);
    this.#changes.notify();
  }

  /** Records the autocomplete choices. */
  setChoices(choices: readonly APIApplicationCommandOptionChoice[]): void {
    this.#choices = choices;
  }

  /** Records the modal. */
  setModal(modal: APIModalInteractionResponseCallbackData): void {
    this.#modal = modal;
  }

  /** Ages the token past its 15 minutes, so the next webhook call gets 401 50027. */
  expireToken(): void {
    this.#tokenIssuedAt -= TOKEN_LIFETIME_MS + 1;
  }
}
