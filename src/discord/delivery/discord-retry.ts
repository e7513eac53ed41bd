import { setTimeout as sleep } from 'node:timers/promises';
import { DiscordAPIError, HTTPError } from 'discord.js';

/**
 * Waits between attempts while Discord answers 5xx or the network fails, about a minute in all. discord.js
 * already retries such a request three times at once, which does not outlast an outage; 429s it waits out by
 * itself (`retry_after`), so they never reach here.
 */
export const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 16_000, 30_000] as const;

/** Connection failures worth another try (undici's and Node's codes). */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** Whether `error` is Discord (or the way to it) failing for now, rather than refusing the request. */
export function isTransientDiscordError(error: unknown): boolean {
  if (error instanceof HTTPError || error instanceof DiscordAPIError) return error.status >= 500;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
  // A request that timed out is aborted by discord.js.
  return error.name === 'AbortError' || (typeof code === 'string' && NETWORK_CODES.has(code));
}

/**
 * Runs `write`, retrying it with growing pauses ({@link BACKOFF_MS}) while it fails transiently. Gives up with
 * the last error when the pauses run out, or at once when `signal` aborts (shutdown): the job then resumes at
 * the next start instead of holding the shutdown up.
 */
export async function withBackoff<T>(
  write: () => Promise<T>,
  options: { readonly signal?: AbortSignal | undefined; readonly onRetry: (error: unknown, waitMs: number) => void },
): Promise<T> {
  for (const waitMs of BACKOFF_MS) {
    try {
      return await write();
    } catch (error) {
      if (!isTransientDiscordError(error) || options.signal?.aborted === true) throw error;
      options.onRetry(error, waitMs);
      await sleep(waitMs, undefined, { signal: options.signal });
    }
  }
  return write();
}
