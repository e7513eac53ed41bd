import type { ZodType } from 'zod';
import type { Store } from '../store/index.js';
import { expectInteger, expectPositive } from './checks.js';
import type { JobCost } from './job.js';
import type { QueueJournal } from './journal.js';
import type { BatchSettings, JobRunner } from './runner.js';
import { DEFAULT_MS_PER_UNIT } from './timings.js';

/**
 * Where accepted jobs are kept until they end: a journal the caller keeps (the bot keeps the queue's facts on its one
 * job record), or a collection of a store that the queue keeps itself.
 */
export type JournalOption<P> =
  | { readonly journal: QueueJournal<P> }
  | {
      readonly store: Store;
      /**
       * Store collection holding the job records.
       * @default 'queue-jobs'
       */
      readonly collection?: string;
    };

/** How to build a `JobQueue`. The composition root passes configuration values in; the queue reads no environment. */
export type JobQueueOptions<P, R> = QueueSettings<P, R> & JournalOption<P>;

/** Everything but the journal. */
export interface QueueSettings<P, R> {
  /** Validates the bot's request (plain JSON data) on submit and when records are read back. */
  readonly payloadSchema: ZodType<P>;
  /** Runs one job on the GPU. */
  readonly runner: JobRunner<P, R>;
  /**
   * Batching: when a slot frees, the job whose turn it is starts together with the following compatible waiting
   * jobs, taken in fair order (`FairQueue.takeBatch`), up to `maxSize`. Without it every job runs alone.
   */
  readonly batching?: BatchSettings<P, R> | undefined;
  /**
   * Whether a job may start now beside the running ones (their payloads), in a free slot: where the slots are GPU
   * workers that each run only their own models' jobs. A job without room keeps its place in the fair order and does
   * not hold up the jobs behind it; call `resize` when the room changes (workers joined, left or changed models).
   * @default every job fits any free slot
   */
  readonly hasRoom?: ((payload: P, running: readonly P[]) => boolean) | undefined;
  /** The cost of a request, for ETAs. */
  readonly costOf: (payload: P) => JobCost;
  /**
   * GPU slots: jobs running at once (`QUEUE_CONCURRENCY`). Minimum: 1.
   * @default 1
   */
  readonly concurrency?: number;
  /**
   * Waiting jobs one member may have, across all guilds (running jobs do not count). `submit()` may override it
   * per request with the guild's value. Minimum: 1.
   * @default 3
   */
  readonly maxQueuedPerUser?: number;
  /**
   * Waiting jobs in all, across all guilds (running jobs do not count). Minimum: 1.
   * @default 100
   */
  readonly maxQueued?: number;
  /**
   * Time limit of one attempt, in ms, from its start. At the limit its signal is aborted and its slot freed.
   * Minimum: 1.
   * @default 600_000 (10 min)
   */
  readonly jobTimeoutMs?: number;
  /**
   * ETA guess in ms per cost unit until the first job finishes. Above 0.
   * @default DEFAULT_MS_PER_UNIT (6e-4: about 3 s for 20 steps at 512×512)
   */
  readonly initialMsPerUnit?: number;
  /**
   * The clock, in ms: timestamps, durations and ETAs. Tests pass a fake one. (Time limits use real timers.)
   * @default Date.now
   */
  readonly now?: () => number;
}

/** {@link QueueSettings} with every default filled in and every number checked. */
export type ResolvedOptions<P, R> = Required<Omit<QueueSettings<P, R>, 'batching' | 'hasRoom'>> & Pick<QueueSettings<P, R>, 'batching' | 'hasRoom'>;

/** Fills in the defaults and throws a `RangeError` naming the first option out of range. */
export function resolveOptions<P, R>(options: QueueSettings<P, R>): ResolvedOptions<P, R> {
  return {
    payloadSchema: options.payloadSchema,
    runner: options.runner,
    batching: options.batching && { ...options.batching, maxSize: expectInteger('batching.maxSize', options.batching.maxSize, 1) },
    hasRoom: options.hasRoom,
    costOf: options.costOf,
    concurrency: expectInteger('concurrency', options.concurrency ?? 1, 1),
    maxQueuedPerUser: expectInteger('maxQueuedPerUser', options.maxQueuedPerUser ?? 3, 1),
    maxQueued: expectInteger('maxQueued', options.maxQueued ?? 100, 1),
    jobTimeoutMs: expectInteger('jobTimeoutMs', options.jobTimeoutMs ?? 600_000, 1),
    initialMsPerUnit: expectPositive('initialMsPerUnit', options.initialMsPerUnit ?? DEFAULT_MS_PER_UNIT),
    now: options.now ?? Date.now,
  };
}
