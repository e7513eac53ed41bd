import { join } from 'node:path';
import { after } from 'node:test';
import { z } from 'zod';
import { JobQueue, type BatchJob, type Job, type JobContext, type JobRunner, type QueueSettings, type SubmitResult } from '../../src/queue/index.js';
import { Store } from '../../src/store/index.js';
import { tempDir } from '../support/temp-dir.js';

/** The request the tests queue: a stand-in for the bot's. */
export const Request = z.object({
  prompt: z.string(),
  steps: z.number().int().min(1),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  count: z.number().int().min(1),
});
export type Request = z.infer<typeof Request>;

/** 10 steps × 10×10 pixels × 1 image = 1,000 cost units. */
export function request(prompt: string): Request {
  return { prompt, steps: 10, width: 10, height: 10, count: 1 };
}

export function costOf(request: Request): { steps: number; pixels: number; count: number } {
  return { steps: request.steps, pixels: request.width * request.height, count: request.count };
}

/** A `sqlite://` URL in a fresh temporary folder (removed after the test file). */
export function sqliteUrl(): string {
  return `sqlite://${join(tempDir('dreamcord-queue-'), 'queue.sqlite')}`;
}

export type TestQueueOptions<R> = Partial<QueueSettings<Request, R>> & { readonly runner: JobRunner<Request, R>; readonly store?: Store };

/**
 * Opens and starts a queue on a SQLite store (a new file unless `url` is given). Both are closed after the test
 * file, the queue without draining; a test may close them earlier.
 */
export async function startQueue<R>(options: TestQueueOptions<R>, url = sqliteUrl()): Promise<{ queue: JobQueue<Request, R>; store: Store }> {
  const store = options.store ?? (await Store.open(url));
  const queue = await JobQueue.open<Request, R>({ store, payloadSchema: Request, costOf, ...options });
  after(async () => {
    await queue.close({ drain: false });
    await store.close();
  });
  await queue.start();
  return { queue, store };
}

/** One call of a {@link ManualRunner}: the test decides when and how it ends. */
export interface Call<R> {
  readonly job: Job<Request>;
  readonly context: JobContext;
  readonly finish: (result: R) => void;
  readonly fail: (error: unknown) => void;
}

/**
 * A runner whose jobs end only when the test says so, for deterministic interleavings. Like the pipeline, a job
 * stops (rejects with the signal's reason) when its signal is aborted.
 */
export class ManualRunner<R> {
  readonly calls: Call<R>[] = [];
  readonly #waiters: Array<() => void> = [];

  readonly run: JobRunner<Request, R> = (job, context) =>
    new Promise<R>((finish, fail) => {
      context.signal.addEventListener('abort', () => fail(context.signal.reason as Error), { once: true });
      this.calls.push({ job, context, finish, fail });
      for (const wake of this.#waiters.splice(0)) wake();
    });

  /** The `index`-th call (from 0), once the queue has made it. */
  async call(index: number): Promise<Call<R>> {
    for (;;) {
      const call = this.calls[index];
      if (call) return call;
      await new Promise<void>((wake) => this.#waiters.push(wake));
    }
  }
}

/** A batch runner whose jobs end when the test says so (all of a batch at once, or one by one). */
export class ManualBatchRunner {
  readonly batches: Array<{ readonly jobs: readonly BatchJob<Request>[]; readonly finish: () => void }> = [];

  readonly run = (jobs: readonly BatchJob<Request>[]): Promise<string>[] => {
    const finishers: Array<() => void> = [];
    const attempts = jobs.map(({ job }) => new Promise<string>((resolve) => finishers.push(() => resolve(job.payload.prompt))));
    this.batches.push({ jobs, finish: () => finishers.forEach((finish) => finish()) });
    return attempts;
  };
}

/** Resolves once `condition` holds (checked every few ms). */
export async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** A clock the test moves by hand, in ms. */
export class FakeClock {
  #now = 1_000_000;
  readonly now = (): number => this.#now;
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** An accepted submission. */
export type Accepted<R> = Extract<SubmitResult<Request, R>, { ok: true }>;

/** Submits `prompt` for `ownerId` and fails the test unless it is accepted. */
export async function submitOk<R>(queue: JobQueue<Request, R>, ownerId: string, prompt: string, guildId = 'guild-1'): Promise<Accepted<R>> {
  const result = await queue.submit({ ownerId, guildId, channelId: 'channel-1', payload: request(prompt) });
  if (!result.ok) throw new Error(`Expected the queue to accept "${prompt}", got ${result.code}: ${result.message}`);
  return result;
}

/** Ids of the job records left in `store`, sorted. */
export async function storedJobIds(store: Store): Promise<string[]> {
  const records = await store.collection('queue-jobs', { schema: z.unknown(), version: 1 });
  const ids: string[] = [];
  for await (const [id] of records.entries()) ids.push(id);
  return ids.sort();
}
