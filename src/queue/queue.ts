import type { EventEmitter } from 'node:events';
import type { JobOutcome, JobQueueEvents, Placement, QueueInspection, QueueStats } from './events.js';
import type { Failure } from './failure.js';
import type { Job } from './job.js';
import type { CancelResult, Canceller, JobRequest, SubmitResult } from './results.js';

/**
 * What the bot needs of a job queue, whatever runs it. `JobQueue` is the in-process implementation (p-queue, GPU
 * slots in this process, records in the store). A distributed one (GPU workers on other machines taking jobs from
 * a shared store) implements the same: fairness and positions where the jobs wait, `runner` where a GPU is, the
 * same events relayed back. Nothing above the queue depends on more than this.
 */
export interface WorkQueue<P, R> extends Pick<EventEmitter<JobQueueEvents<P, R>>, 'on' | 'off' | 'once'> {
  /** Re-queues the jobs of the last run (emitting 'resumed' or 'failed' for each), then starts running jobs. */
  start(): Promise<void>;
  /** Accepts a job, or refuses it with a reason (limits, shutting down). */
  submit(request: JobRequest<P>): Promise<SubmitResult<P, R>>;
  /** Cancels a waiting or running job for its owner or a moderator. */
  cancel(jobId: string, by: Canceller): Promise<CancelResult<P>>;
  /** The job while it waits or runs. */
  get(jobId: string): Job<P> | undefined;
  /** How `jobId` ends, while it waits or runs. */
  outcomeOf(jobId: string): Promise<JobOutcome<P, R>> | undefined;
  /** Where `jobId` stands (0 = running) and its ETA, while it waits or runs. */
  positionOf(jobId: string): Placement | undefined;
  /** The waiting jobs in the order they will start, each with its place. */
  waiting(): readonly (Placement & { readonly job: Job<P> })[];
  /**
   * Ends waiting job `jobId` as failed with `failure` (it can never run: its model is gone), emitting 'failed';
   * false when it is not waiting.
   */
  failWaiting(jobId: string, failure: Failure): Promise<boolean>;
  stats(): QueueStats;
  /** Its bookkeeping now, every job it holds with it: what a report on a job that seems stuck shows. */
  inspect(): QueueInspection;
  /** Changes the number of jobs run at once (GPU workers joined or left); waiting jobs start at once if there is room. */
  resize(concurrency: number): void;
  /** Stops taking and starting jobs; with `drain`, running ones finish, else they resume at the next start. */
  close(options?: { readonly drain?: boolean }): Promise<void>;
}
