import { setTimeout as sleep } from 'node:timers/promises';
import { StoreBackendError } from './errors.js';

/**
 * `operation`, tried again after each of `delaysMs` while the store's backend fails it (a busy SQLite, a Redis
 * connection dropped for a moment: often over by the next try). Anything else — a record that does not match its
 * schema, a bug — is thrown at once: trying again cannot mend it, and would only hold up what waits behind it.
 */
export async function retriedOnBackendFailure<T>(operation: () => Promise<T>, delaysMs: readonly number[]): Promise<T> {
  for (const delayMs of delaysMs) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof StoreBackendError)) throw error;
      await sleep(delayMs);
    }
  }
  return operation();
}
