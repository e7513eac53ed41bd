import type { ZodType } from 'zod';
import type { Collection, Store } from '../store/index.js';
import { jobSchema, type Job } from './job.js';

/** Version of the stored job record (`Job<P>`); bump it when the shape changes. */
const RECORD_VERSION = 1;

/**
 * The stored records of accepted jobs, one per job until it ends. The writes of one job run one after another, so
 * a later state never lands before an earlier one; `flush()` waits for all of them.
 */
export class JobRecords<P> {
  readonly #collection: Collection<Job<P>>;
  /** Per job, its last write (failures swallowed, the caller has them), while one is in flight. */
  readonly #tails = new Map<string, Promise<void>>();

  private constructor(collection: Collection<Job<P>>) {
    this.#collection = collection;
  }

  /** The records in collection `name` of `store`, with payloads validated by `payloadSchema`. */
  static async open<P>(store: Store, name: string, payloadSchema: ZodType<P>): Promise<JobRecords<P>> {
    return new JobRecords(await store.collection(name, { schema: jobSchema(payloadSchema), version: RECORD_VERSION }));
  }

  /** Every stored job, in acceptance order. */
  async load(): Promise<Job<P>[]> {
    const jobs: Job<P>[] = [];
    for await (const [, job] of this.#collection.entries()) jobs.push(job);
    return jobs.sort((a, b) => a.seq - b.seq);
  }

  /** Stores `job`, after its earlier writes. Rejects with a `StoreError` when the store fails. */
  put(job: Job<P>): Promise<void> {
    return this.#after(job.id, () => this.#collection.set(job.id, job));
  }

  /** Deletes the record of `jobId`, after its earlier writes. Rejects with a `StoreError` when the store fails. */
  delete(jobId: string): Promise<void> {
    return this.#after(jobId, () => this.#collection.delete(jobId));
  }

  /** Resolves when every write asked for so far has landed or failed. */
  async flush(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values());
  }

  #after(jobId: string, write: () => Promise<unknown>): Promise<void> {
    const done = (this.#tails.get(jobId) ?? Promise.resolve()).then(write).then(() => undefined);
    const tail = done.catch(() => undefined);
    this.#tails.set(jobId, tail);
    void tail.then(() => {
      if (this.#tails.get(jobId) === tail) this.#tails.delete(jobId);
    });
    return done;
  }
}
