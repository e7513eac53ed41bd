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
 * Batching later: every job gets its own context, so a future batcher can take compatible waiting jobs (same model,
 * size, sampler and steps, decided by a `compatibilityKey(payload)` hook) from `FairQueue` at once, run them in one
 * GPU call with `AbortSignal.any` over their signals, and report progress and results to each context.
 */
export type JobRunner<P, R> = (job: Job<P>, context: JobContext) => Promise<R>;

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
