/** A GPU worker as the bot places jobs on it: jobs it runs at once, and the models it has (lower-case names). */
export interface WorkerSlots {
  readonly capacity: number;
  readonly models: ReadonlySet<string>;
}

/**
 * Whether one more job for `model` can start on `workers` beside the jobs running for `running` (their models,
 * lower-case), without taking a slot a running job needs.
 *
 * The running jobs and the workers' slots form a bipartite graph (a job may sit in any slot of a worker that has its
 * model). The running jobs are placed one by one along augmenting paths (a job takes a free slot of a worker with its
 * model, or a slot whose job can move to another worker of its own, recursively: Kuhn's algorithm, with the jobs of
 * one model on one worker counted together), which gives a maximum matching; by Berge's theorem the new job fits
 * exactly when an augmenting path starts from it, that is when the maximum matching grows by one. Running jobs that
 * no worker online can hold (their worker left) stay unplaced, so they do not block jobs for other models; they take
 * a slot again once their model's worker is back, which the next call accounts for. Each placement visits each
 * worker once: jobs × workers × models steps in all.
 *
 * Workers pick jobs from their models' queues themselves, so a worker with several models may take a job that
 * another could have run, where this matching put it elsewhere: the job then waits for that worker's next free slot
 * (see `GpuWorker`), and nothing runs twice; it only runs later than it could have.
 */
export function hasRoomFor(workers: readonly WorkerSlots[], running: readonly string[], model: string): boolean {
  /** Jobs placed on each worker, by model. */
  const placed = workers.map(() => new Map<string, number>());
  const used = workers.map(() => 0);
  /** Places a job for `jobModel`, moving placed jobs along an augmenting path; `visited` workers are not tried again. */
  const place = (jobModel: string, visited: Set<number>): boolean => {
    for (const [index, worker] of workers.entries()) {
      if (visited.has(index) || !worker.models.has(jobModel)) continue;
      visited.add(index);
      const on = placed[index] ?? new Map<string, number>();
      const free = (used[index] ?? 0) < worker.capacity;
      // Full: one of its jobs moves to another worker of its model, if one can take it.
      const moved = !free && [...on.entries()].some(([other, count]) => count > 0 && place(other, visited) && on.set(other, count - 1));
      if (!free && !moved) continue;
      on.set(jobModel, (on.get(jobModel) ?? 0) + 1);
      if (free) used[index] = (used[index] ?? 0) + 1;
      return true;
    }
    return false;
  };
  for (const jobModel of running) place(jobModel, new Set());
  return place(model, new Set());
}
