import type { Job } from './job.js';

/** What the queue hands the runner with each job. */
export interface JobContext {
  /**
   * Aborted when the owner or a moderator cancels the job, when it passes its time limit, or when the queue
   * shuts down without draining. The pipeline checks it between steps; its `reason` says which.
   */
  readonly signal: AbortSignal;
  /** Reports that `step` of `total` steps are done (0 ≤ step ≤ total, total ≥ 1); refines the ETA and emits 'progress'. */
  reportProgress(step: number, total: number): void;
}

/**
 * Runs one job on the GPU and returns its result. The queue calls it once per attempt, inside a GPU slot.
 * A thrown error fails the job with the failure it carries (`error.failure`: code, transient, details; see
 * `classifyFailure`); a transient one is retried once.
 *
 * The queue deletes a job's record as soon as the runner has returned (before emitting 'completed'), so the runner
 * must hand the result on (post it, store it) before returning. A crash between the two runs the job again: jobs
 * run at least once, and exactly once unless the process dies in that moment.
 *
 * Jobs may also run in batches (`QueueSettings.batching`): then the queue calls {@link BatchRunner} instead, with
 * each job's own context.
 */
export type JobRunner<P, R> = (job: Job<P>, context: JobContext) => Promise<R>;

/** A job of a batch, with its own context (signal, progress). */
export interface BatchJob<P> {
  readonly job: Job<P>;
  readonly context: JobContext;
}

/**
 * Runs compatible jobs together in one GPU slot. Returns one promise per job, in order, each settling as
 * {@link JobRunner} would for that job alone: its own result, failure or cancellation (a job whose signal aborts
 * stops alone; the others go on). The slot is held until every promise has settled.
 */
export type BatchRunner<P, R> = (jobs: readonly BatchJob<P>[]) => readonly Promise<R>[];

/** What makes jobs batchable: which may share a batch, how much room each takes, and how a batch runs. */
export interface BatchSettings<P, R> {
  /** Jobs whose payloads have the same key may share a batch; `undefined`: this job always runs alone. */
  readonly keyOf: (payload: P) => string | undefined;
  /** The room a job takes in a batch (e.g. UNet rows: 2 per image with guidance). Minimum: 1. */
  readonly sizeOf: (payload: P) => number;
  /** The most room a batch has; a job larger than this still runs, alone. Minimum: 1. */
  readonly maxSize: number;
  /**
   * The most room a batch that `payload`'s job starts has, where that depends on the job (GPU workers each
   * advertise their own room for their models); the smaller of this and `maxSize` counts.
   * @default maxSize for every job
   */
  readonly maxSizeOf?: ((payload: P) => number) | undefined;
  readonly run: BatchRunner<P, R>;
}

/**
 * The reason a running job's signal is aborted when the queue closes without draining: the job is not over, it
 * resumes at the next start. A runner whose work goes on elsewhere (a GPU worker on another machine) leaves it
 * running rather than cancelling it.
 */
export class QueueClosing extends DOMException {
  constructor() {
    super('The queue is shutting down.', 'AbortError');
  }
}
