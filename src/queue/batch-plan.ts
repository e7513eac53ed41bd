import type { FairQueue } from './fair-queue.js';
import type { BatchSettings } from './runner.js';

/**
 * A waiting job as the batch plan reads it: its payload, and its batch key (`BatchSettings.keyOf`) read once when
 * the job was queued — the plan reads every waiting job's key each time the queue changes.
 */
export interface BatchCandidate<P> {
  readonly job: { readonly payload: P };
  readonly batchKey: string | undefined;
}

/** The room of a batch being formed, for `FairQueue.takeBatch`. */
export interface Companions {
  /** Whether waiting job `id` joins the batch; accepting one uses its room. */
  readonly accepts: (id: string) => boolean;
  /** Whether no job fits in the room left. */
  readonly full: () => boolean;
}

/**
 * Which waiting jobs may join the batch of `head`: those of its batch key, each while its size fits the room left. `undefined` when `head` always runs alone (no batching, no key, or no room left beside it). Fresh room
 * for each call: one call per batch. The queue forms its batches with it and the ETA's plan ({@link planStarts})
 * too, so they cannot disagree.
 */
export function companionsOf<P, R>(
  batching: BatchSettings<P, R> | undefined,
  head: BatchCandidate<P>,
  candidateOf: (id: string) => BatchCandidate<P> | undefined,
): Companions | undefined {
  const key = head.batchKey;
  if (!batching || key === undefined) return undefined;
  const { payload } = head.job;
  let room = Math.min(batching.maxSize, batching.maxSizeOf?.(payload) ?? batching.maxSize) - batching.sizeOf(payload);
  if (room < 1) return undefined;
  const accepts = (id: string) => {
    const candidate = candidateOf(id);
    if (candidate === undefined || candidate.batchKey !== key) return false;
    const size = batching.sizeOf(candidate.job.payload);
    if (size > room) return false;
    room -= size;
    return true;
  };
  return { accepts, full: () => room < 1 }; // a job takes 1 or more
}

/**
 * How far {@link planStarts} plays ahead, in job visits (each start it plays reads the fair order of every job still
 * waiting): 10,000 plays every start of a queue of up to 100 jobs (the default `maxQueued`). Figures: `npm run bench
 * -- eta`.
 */
const PLAN_BUDGET = 10_000;

/**
 * The starts the queue will make for the waiting jobs of `fair`, in order, each the ids of the jobs that start
 * together in one slot: what the queue does each time a slot frees, played on a copy of `fair` (which is not
 * touched) — the job whose turn it is (p-queue's `dequeue`), then the companions its batch takes in fair order
 * (`takeBatch` with {@link companionsOf}; skipped when no other job of its key waits, which takes none).
 * Exact until a job is added or removed, whichever slot frees first.
 *
 * Each start played reads the fair order, so a long queue is played only as far as {@link PLAN_BUDGET} allows (at
 * least one start): the jobs left after that are counted alone in their fair order, which overstates their wait
 * when they would batch — they are far back, where newcomers will move them anyway.
 */
export function planStarts<P, R>(fair: FairQueue, batching: BatchSettings<P, R>, candidateOf: (id: string) => BatchCandidate<P> | undefined): string[][] {
  const future = fair.copy();
  const keyOf = (id: string) => candidateOf(id)?.batchKey;
  const waitingByKey = new Map<string | undefined, number>();
  for (const key of future.order().map(keyOf)) waitingByKey.set(key, (waitingByKey.get(key) ?? 0) + 1);
  const starts: string[][] = [];
  for (let visits = future.waiting; visits <= PLAN_BUDGET || starts.length === 0; visits += future.waiting) {
    const head = future.takeNext();
    if (head === undefined) return starts;
    const candidate = candidateOf(head);
    const key = candidate?.batchKey;
    const others = (waitingByKey.get(key) ?? 0) - 1;
    const batch = candidate !== undefined && others > 0 ? companionsOf(batching, candidate, candidateOf) : undefined;
    const taken = batch ? future.takeBatch(batch.accepts, batch.full) : [];
    waitingByKey.set(key, others - taken.length);
    starts.push([head, ...taken]);
  }
  return [...starts, ...future.order().map((id) => [id])];
}
