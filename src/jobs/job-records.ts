import { SerialByKey, type Collection, type Store } from '../store/index.js';
import { canMove, jobRecordSchema, type JobRecord } from './job-record.js';

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
   * member has cancelled meanwhile: it is dropped and the record stays as it is. Undefined: no such record.
   */
  change(jobId: string, change: (record: JobRecord) => JobRecord, first?: JobRecord): Promise<StoredChange | undefined> {
    return this.#writes.run(jobId, async () => {
      const stored = await this.#records.get(jobId);
      const current = stored ?? first;
      if (!current) return undefined;
      const next = change(current);
      if (!canMove(current.status, next.status)) return { record: current, changed: false };
      if (next !== current || !stored) await this.#records.set(jobId, next);
      return { record: next, changed: next !== current };
    });
  }

  /** Resolves when every change asked for so far has landed or failed. */
  flush(): Promise<void> {
    return this.#writes.idle();
  }
}
