import { setTimeout as sleep } from 'node:timers/promises';
import { SerialByKey, StoreError, type Collection, type Store } from '../store/index.js';
import { canMove, jobRecordSchema, type JobRecord } from './job-record.js';

/**
 * The waits before trying a record change the store failed again. A store's failure is often over by the next
 * try — SQLite busy past its busy timeout on a loaded machine, a Redis connection dropped for a moment — and a
 * change that is lost leaves a record that lies: a finished job shown `queued` for ever, a running one failed for a
 * write that the next try would have made.
 */
export const RETRY_DELAYS_MS: readonly number[] = [100, 1000];

/** A record after `change`: as stored now, and whether this change is what stored it. */
export interface StoredChange {
  readonly record: JobRecord;
  readonly changed: boolean;
}

/**
 * The one record of every job (collection `jobs`), changed only through `change`: every change of a record runs
 * after the earlier changes of the same record, so none is lost, and none moves a job back.
 */
export class JobRecords {
  readonly #records: Collection<JobRecord>;
  readonly #writes = new SerialByKey();

  private constructor(records: Collection<JobRecord>) {
    this.#records = records;
  }

  static async open(store: Store): Promise<JobRecords> {
    return new JobRecords(await store.collection('jobs', { schema: jobRecordSchema, version: 1 }));
  }

  /** The record of job `jobId`, if it exists. */
  get(jobId: string): Promise<JobRecord | undefined> {
    return this.#records.get(jobId);
  }

  /**
   * Applies `change` to the record of `jobId` (or to `first` when none is stored), after that record's earlier
   * changes. A change that would move the job back (`canMove`) is a late one, e.g. the runner storing a result the
   * member has cancelled meanwhile: it is dropped and the record stays as it is. Undefined: no such record. When
   * the store fails, the change (its read too) is tried again after each of {@link RETRY_DELAYS_MS}, the record's
   * later changes waiting meanwhile; it rejects with the last failure.
   */
  change(jobId: string, change: (record: JobRecord) => JobRecord, first?: JobRecord): Promise<StoredChange | undefined> {
    return this.#writes.run(jobId, () => retried(() => this.#apply(jobId, change, first)));
  }

  async #apply(jobId: string, change: (record: JobRecord) => JobRecord, first: JobRecord | undefined): Promise<StoredChange | undefined> {
    const stored = await this.#records.get(jobId);
    const current = stored ?? first;
    if (!current) return undefined;
    const next = change(current);
    if (!canMove(current.status, next.status)) return { record: current, changed: false };
    if (next !== current || !stored) await this.#records.set(jobId, next);
    return { record: next, changed: next !== current };
  }

  /** Resolves when every change asked for so far has landed or failed. */
  flush(): Promise<void> {
    return this.#writes.idle();
  }
}

/** `operation`, tried again after each of {@link RETRY_DELAYS_MS} while the store fails it; anything else is thrown at once. */
async function retried<T>(operation: () => Promise<T>): Promise<T> {
  for (const delayMs of RETRY_DELAYS_MS) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      await sleep(delayMs);
    }
  }
  return operation();
}
