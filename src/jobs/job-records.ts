import { retriedOnBackendFailure, SerialByKey, StoreBackendError, type Collection, type Store } from '../store/index.js';
import { canMove, jobRecordSchema, STATUS_STAGE, type JobRecord } from './job-record.js';

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

/** A change of one record: the record as it is to be stored. */
export type RecordChange = (record: JobRecord) => JobRecord;

/**
 * The one record of every job (collection `jobs`), changed only through `change` and `end`: every change of a
 * record runs after the earlier changes of the same record, so none is lost, and none moves a job back.
 */
export class JobRecords {
  readonly #records: Collection<JobRecord>;
  readonly #writes = new SerialByKey();
  /**
   * The ends (see `end`) that the store kept failing, by job: the member has been told them, so reads show them,
   * and the record's next change (or `flush`) stores them before its own.
   */
  readonly #unstored = new Map<string, RecordChange>();

  private constructor(records: Collection<JobRecord>) {
    this.#records = records;
  }

  static async open(store: Store): Promise<JobRecords> {
    return new JobRecords(await store.collection('jobs', { schema: jobRecordSchema, version: 1 }));
  }

  /** The record of job `jobId`, if it exists, with its end when the store has not taken it yet (see `end`). */
  async get(jobId: string): Promise<JobRecord | undefined> {
    const stored = await this.#records.get(jobId);
    return stored && this.#withUnstored(jobId, stored);
  }

  /**
   * Applies `change` to the record of `jobId` (or to `first` when none is stored), after that record's earlier
   * changes. A change that would move the job back (`canMove`) is a late one, e.g. the runner storing a result the
   * member has cancelled meanwhile: it is dropped and the record stays as it is. Undefined: no such record. When
   * the store's backend fails, the change (its read too) is tried again after each of {@link RETRY_DELAYS_MS}, the
   * record's later changes waiting meanwhile; it rejects with the last failure.
   */
  change(jobId: string, change: RecordChange, first?: JobRecord): Promise<StoredChange | undefined> {
    return this.#writes.run(jobId, () => retried(() => this.#apply(jobId, change, first)));
  }

  /**
   * Ends job `jobId` as `change` says, as {@link change} does. A job's end is one write: the record leaves the
   * queue in it (its `queue` facts go), so until it is stored the job stays the queue's and a restart
   * resumes it. When the store's backend keeps failing the write, the end is kept here: reads show it, and the
   * record's next change or `flush` stores it first; it still rejects with the failure.
   */
  end(jobId: string, change: RecordChange): Promise<StoredChange | undefined> {
    return this.#writes.run(jobId, async () => {
      try {
        return await retried(() => this.#apply(jobId, change, undefined));
      } catch (error) {
        // Kept only for a backend failure, which a later try may get past: an end the store refuses for itself
        // (its record does not match the schema) would fail again in every later change, each storing it first.
        if (error instanceof StoreBackendError && !this.#unstored.has(jobId)) this.#unstored.set(jobId, change);
        throw error;
      }
    });
  }

  async #apply(jobId: string, change: RecordChange, first: JobRecord | undefined): Promise<StoredChange | undefined> {
    const stored = await this.#records.get(jobId);
    const base = stored ?? first;
    if (!base) return undefined;
    // An end the member was told goes first, in this write: a later change (the runner's `undelivered` after a
    // cancel whose write failed) then cannot contradict it, whichever of the two the store takes.
    const current = this.#withUnstored(jobId, base);
    const next = change(current);
    const moves = canMove(current.status, next.status);
    const kept = moves ? leftQueue(next) : current;
    if (kept !== base || !stored) await this.#records.set(jobId, kept);
    this.#unstored.delete(jobId);
    return { record: kept, changed: moves && next !== current };
  }

  /** `record` with its unstored end, if any (and if it may move there). */
  #withUnstored(jobId: string, record: JobRecord): JobRecord {
    const end = this.#unstored.get(jobId);
    const ended = end && leftQueue(end(record));
    return ended && canMove(record.status, ended.status) ? ended : record;
  }

  /**
   * Resolves when every change asked for so far has landed or failed, and the ends the store failed have been
   * tried once more (at shutdown, their last chance).
   */
  async flush(): Promise<void> {
    await this.#writes.idle();
    // A change stores the end first; one still failing stays kept: its failure was reported when it was written.
    const retriedEnds = [...this.#unstored.keys()].map((jobId) => this.change(jobId, (record) => record).catch(() => undefined));
    await Promise.all(retriedEnds);
  }
}

/**
 * `record` without the queue's facts once it has left the queue (past waiting and running): the write that ends a
 * job or hands it to the delivery clears them, so no restart resumes a job whose end is stored.
 */
function leftQueue(record: JobRecord): JobRecord {
  return STATUS_STAGE[record.status] === 0 || !record.queue ? record : withoutQueueFacts(record);
}

function withoutQueueFacts({ queue: _left, ...record }: JobRecord): JobRecord {
  return record;
}

/** `operation`, tried again after each of {@link RETRY_DELAYS_MS} while the store's backend fails it. */
function retried<T>(operation: () => Promise<T>): Promise<T> {
  return retriedOnBackendFailure(operation, RETRY_DELAYS_MS);
}
