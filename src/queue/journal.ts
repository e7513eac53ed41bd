import type { ZodType } from 'zod';
import { SerialByKey, type Collection, type Store } from '../store/index.js';
import { jobSchema, type Job } from './job.js';

/**
 * Where the queue writes down its jobs so that a restart loses none: each accepted job until it ends, with the
 * queue's facts (turn order, attempts, whether it held a slot). The queue never reads it after `load()`.
 * The bot implements it on its one job record (`jobs/queue-journal.ts`); {@link StoreJournal} is the queue's own.
 */
export interface QueueJournal<P> {
  /** Every job accepted and not ended, in any order (the queue sorts them by `seq`). */
  load(): Promise<Job<P>[]>;
  /** Writes `job` as it is now, after its earlier writes. Rejects when the store fails. */
  put(job: Job<P>): Promise<void>;
  /** The job ended (completed, failed or cancelled): it is no longer the queue's, after its earlier writes. */
  delete(jobId: string): Promise<void>;
  /** Resolves when every write asked for so far has landed or failed. */
  flush(): Promise<void>;
}

/** Version of the stored job record (`Job<P>`); bump it when the shape changes. */
const RECORD_VERSION = 1;

/**
 * A journal of its own in a store collection, for a queue used on its own (benchmarks, tests, the library). The
 * writes of one job run one after another, so a later state never lands before an earlier one.
 */
export class StoreJournal<P> implements QueueJournal<P> {
  readonly #collection: Collection<Job<P>>;
  readonly #writes = new SerialByKey();

  private constructor(collection: Collection<Job<P>>) {
    this.#collection = collection;
  }

  /** The records in collection `name` of `store`, with payloads validated by `payloadSchema`. */
  static async open<P>(store: Store, name: string, payloadSchema: ZodType<P>): Promise<StoreJournal<P>> {
    return new StoreJournal(await store.collection(name, { schema: jobSchema(payloadSchema), version: RECORD_VERSION }));
  }

  async load(): Promise<Job<P>[]> {
    const jobs: Job<P>[] = [];
    for await (const [, job] of this.#collection.entries()) jobs.push(job);
    return jobs;
  }

  put(job: Job<P>): Promise<void> {
    return this.#writes.run(job.id, () => this.#collection.set(job.id, job));
  }

  delete(jobId: string): Promise<void> {
    return this.#writes.run(jobId, async () => {
      await this.#collection.delete(jobId);
    });
  }

  flush(): Promise<void> {
    return this.#writes.idle();
  }
}
