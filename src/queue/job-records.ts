import type { ZodType } from 'zod';
import { SerialByKey, type Collection, type Store } from '../store/index.js';
import { jobSchema, type Job } from './job.js';

/** Version of the stored job record (`Job<P>`); bump it when the shape changes. */
const RECORD_VERSION = 1;

/**
 * The stored records of accepted jobs, one per job until it ends. The writes of one job run one after another, so
 * a later state never lands before an earlier one; `flush()` waits for all of them.
 */
export class JobRecords<P> {
  readonly #collection: Collection<Job<P>>;
  readonly #writes = new SerialByKey();

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
    return this.#writes.run(job.id, () => this.#collection.set(job.id, job));
  }

  /** Deletes the record of `jobId`, after its earlier writes. Rejects with a `StoreError` when the store fails. */
  delete(jobId: string): Promise<void> {
    return this.#writes.run(jobId, async () => {
      await this.#collection.delete(jobId);
    });
  }

  /** Resolves when every write asked for so far has landed or failed. */
  flush(): Promise<void> {
    return this.#writes.idle();
  }
}
