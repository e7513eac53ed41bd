import type { Failure } from './failure.js';
import type { Job } from './job.js';
import type { TimingSummary } from './timings.js';

/** Where a waiting job stands. */
export interface Placement {
  /**
   * The start the job is in: 1 = it starts when a slot next frees (alone or in a batch with the jobs of the same
   * position). Jobs batched together share a position.
   */
  readonly position: number;
  /**
   * Estimated ms until the job finishes: the starts ahead of it laid on the GPU slots as they free, then its own
   * start's run (a batch's run is learned per batch shape and rows, see `Timings`).
   */
  readonly etaMs: number;
}

export interface QueuedEvent<P> extends Placement {
  readonly job: Job<P>;
}

/** A waiting job moved: up as jobs ahead start or leave, down when a member whose turn comes first joins. */
export interface PositionEvent<P> extends Placement {
  readonly job: Job<P>;
  readonly previous: number;
}

export interface StartedEvent<P> {
  readonly job: Job<P>;
  /** ms since the job was accepted. */
  readonly waitedMs: number;
  /** Expected run time, ms. */
  readonly expectedMs: number;
}

export interface ProgressEvent<P> {
  readonly job: Job<P>;
  readonly step: number;
  readonly total: number;
  /** Estimated ms until the job finishes. */
  readonly etaMs: number;
}

export interface CompletedEvent<P, R> {
  readonly job: Job<P>;
  readonly result: R;
  /** Run time of the successful attempt, ms. */
  readonly runMs: number;
}

export interface FailedEvent<P> {
  readonly job: Job<P>;
  /** Why, as data: the bot words it. */
  readonly failure: Failure;
}

/** A transient failure; the job goes back to the front of the queue for its one retry. */
export type RetryingEvent<P> = FailedEvent<P>;

export interface CancelledEvent<P> {
  readonly job: Job<P>;
  readonly byUserId: string;
  /** True when the job had started; its runner's signal was aborted. */
  readonly wasRunning: boolean;
}

/** A job reloaded from the store after a restart. */
export interface ResumedEvent<P> extends Placement {
  readonly job: Job<P>;
  /** True when it was running when the bot stopped; it goes to the front. */
  readonly wasRunning: boolean;
}

/** The events of a `JobQueue`, for Node's typed `EventEmitter`. */
export type JobQueueEvents<P, R> = {
  queued: [event: QueuedEvent<P>];
  position: [event: PositionEvent<P>];
  started: [event: StartedEvent<P>];
  progress: [event: ProgressEvent<P>];
  completed: [event: CompletedEvent<P, R>];
  failed: [event: FailedEvent<P>];
  retrying: [event: RetryingEvent<P>];
  cancelled: [event: CancelledEvent<P>];
  resumed: [event: ResumedEvent<P>];
  /** The store failed while the queue kept its records in the background. Without a listener the process stops. */
  error: [error: Error];
};

/**
 * How a job ended in this process. `suspended`: the queue closed first; the job's record is kept and the next
 * start resumes it.
 */
export type JobOutcome<P, R> =
  | ({ readonly status: 'completed' } & CompletedEvent<P, R>)
  | ({ readonly status: 'failed' } & FailedEvent<P>)
  | ({ readonly status: 'cancelled' } & CancelledEvent<P>)
  | { readonly status: 'suspended'; readonly job: Job<P> };

/** What `JobQueue.stats()` reports. */
export interface QueueStats extends TimingSummary {
  /** Jobs waiting for a slot. */
  readonly queued: number;
  /** Jobs holding a GPU slot. */
  readonly running: number;
  /** GPU slots: batches run at once (a job alone is a batch of one). */
  readonly concurrency: number;
  /** The most room one batch takes (`BatchSettings.maxSize`; the bot counts UNet rows); 1 without batching. */
  readonly maxBatchSize: number;
}

/**
 * The queue's own bookkeeping at one moment (`JobQueue.inspect()`), for a report on a job that seems stuck: its
 * counts as the queue and p-queue each keep them (they must agree), and every job it holds.
 */
export interface QueueInspection {
  readonly stats: QueueStats;
  /** Whether `close()` was called: no job starts any more. */
  readonly closing: boolean;
  /** p-queue's own counts: tasks started and not settled (one per GPU slot taken), tasks it holds waiting, and whether it is paused. */
  readonly slots: { readonly taken: number; readonly tasksWaiting: number; readonly paused: boolean };
  /** Waiting jobs as counted for the limits, in all and per owner (a job counts while its record is written, too). */
  readonly waitingCount: number;
  readonly waitingByOwner: Readonly<Record<string, number>>;
  /** The waiting jobs in start order. */
  readonly waiting: readonly { readonly id: string; readonly ownerId: string; readonly position: number; readonly attempts: number }[];
  /**
   * The jobs holding a slot. `status` other than `live`: cancelled, ended or stopping, its runner not returned yet
   * (the slot stays taken until it does, at the latest at the job time limit).
   */
  readonly running: readonly {
    readonly id: string;
    readonly ownerId: string;
    readonly status: 'live' | 'suspending' | 'cancelled' | 'done';
    readonly attempts: number;
    readonly runningMs: number;
    /** Fraction of the attempt done, from the runner's progress reports. */
    readonly progress: number;
  }[];
}
