/**
 * Why a request is not accepted, in words a member can read. Expected outcomes are returned, not thrown.
 * - `INVALID_OPTION`: a value is malformed or outside what makes sense.
 * - `OVER_LIMIT`: a value is over a limit this server set (the message names the limit and its value).
 * - `BLOCKED`: the prompt contains a word this server blocked (the message stays neutral), or an explicit term
 *   outside an age-restricted channel.
 * - `CHANNEL`: commands are not taken in this channel.
 * - `COOLDOWN`, `QUEUE`: the member must wait.
 * - `NOT_ALLOWED`: the member may not do this (someone else's job, a moderator's command, a LoRA the server bars).
 * - `NOT_FOUND`: the job or message the request names does not exist (any more).
 */
export interface Refusal {
  readonly code: 'INVALID_OPTION' | 'OVER_LIMIT' | 'BLOCKED' | 'CHANNEL' | 'COOLDOWN' | 'QUEUE' | 'NOT_ALLOWED' | 'NOT_FOUND';
  readonly message: string;
}

/**
 * A refusal whose words need Discord's terms (channel mentions), as data: discord/interactions/refusal-text.ts puts
 * it into words.
 */
export interface DetailedRefusal {
  readonly code: 'CHANNEL';
  readonly details: { readonly kind: 'wrong-channel'; readonly allowedChannelIds: readonly string[] };
}

export type Result<T> = ({ readonly ok: true } & T) | ({ readonly ok: false } & Refusal);

/** Thrown inside a validation to stop at the first bad value; the validation's entry point returns it. */
export class Refused extends Error {
  constructor(
    readonly code: Refusal['code'],
    message: string,
  ) {
    super(message);
  }
}

/** The refusal result for a `Refused`; anything else is a bug and is rethrown. */
export function refusalOf(error: unknown): { ok: false } & Refusal {
  if (error instanceof Refused) return { ok: false, code: error.code, message: error.message };
  throw error;
}
