import { z } from 'zod';
import { DiscordErrors } from './discord-error.js';

/** How long Discord remembers an enforced nonce ("the past few minutes"); the fake's clock decides. */
export const NONCE_WINDOW_MS = 5 * 60_000;

const MAX_NONCE_LENGTH = 25;

const nonceSchema = z.looseObject({
  nonce: z.union([z.string(), z.number().int()]).optional(),
  enforce_nonce: z.boolean().optional(),
});

/**
 * The nonce of a message create that asks for one message per nonce (`enforce_nonce: true`); undefined otherwise.
 * A nonce over 25 characters is refused (400 50035), as Discord does.
 */
export function enforcedNonce(json: unknown): string | undefined {
  const parsed = nonceSchema.safeParse(json ?? {});
  if (!parsed.success) return undefined;
  const { nonce, enforce_nonce: enforce } = parsed.data;
  if (nonce === undefined) return undefined;
  const text = String(nonce);
  if (text.length > MAX_NONCE_LENGTH) {
    throw DiscordErrors.invalidFormBody([
      { path: 'nonce', code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${MAX_NONCE_LENGTH} or fewer in length.` },
    ]);
  }
  return enforce === true ? text : undefined;
}

/** The messages created with an enforced nonce, by channel and nonce, for {@link NONCE_WINDOW_MS}. */
export class NonceLedger {
  readonly #seen = new Map<string, { readonly messageId: string; readonly at: number }>();

  /** The message created in `channelId` with `nonce` within the window before `now`. */
  recall(channelId: string, nonce: string, now: number): string | undefined {
    const seen = this.#seen.get(`${channelId}:${nonce}`);
    return seen && now - seen.at <= NONCE_WINDOW_MS ? seen.messageId : undefined;
  }

  remember(channelId: string, nonce: string, messageId: string, now: number): void {
    this.#seen.set(`${channelId}:${nonce}`, { messageId, at: now });
  }
}
