import { projectFinishes } from './eta.js';
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
 * How far the plans play ahead, in job visits (each start played reads the fair order of every job still waiting):
 * 10,000 plays every start of a queue of up to 100 jobs (the default `maxQueued`). Figures: `npm run bench -- eta`.
 */
const PLAN_BUDGET = 10_000;

/** One start played: the ids of the jobs that start together in one slot (the head first), and the head's candidate. */
interface PlayedStart<P> {
  readonly ids: string[];
  readonly head: BatchCandidate<P> | undefined;
}

/**
 * Plays the queue's starts on a copy of `fair` (which is not touched), one at a time: the job whose turn it is among
 * those that may start (p-queue's `dequeue`), then the companions its batch takes in fair order (`takeBatch` with
 * {@link companionsOf}; skipped when no other job of its key waits, which takes none). Both plans below play with
 * it, so they group jobs exactly as the queue's runner does.
 *
 * Each waiting job's candidate is read once, when the play begins, and every decision of the play reads that
 * answer: a job allowed to start is the job that starts, with the candidate it was allowed on (were a job read
 * again and answered otherwise, a plan would lose it, and its member would see no place).
 */
class StartPlayer<P, R> {
  readonly #future: FairQueue;
  readonly #batching: BatchSettings<P, R> | undefined;
  /** The waiting jobs' candidates as the play began. */
  readonly #candidates = new Map<string, BatchCandidate<P> | undefined>();
  readonly #candidateOf = (id: string) => this.#candidates.get(id);
  /** Jobs still waiting by batch key, to skip `takeBatch`'s walk where no companion can be. */
  readonly #waitingByKey = new Map<string | undefined, number>();
  #visits = 0;

  constructor(fair: FairQueue, batching: BatchSettings<P, R> | undefined, candidateOf: (id: string) => BatchCandidate<P> | undefined) {
    this.#future = fair.copy();
    this.#batching = batching;
    for (const id of this.#future.order()) {
      const candidate = candidateOf(id);
      this.#candidates.set(id, candidate);
      this.#waitingByKey.set(candidate?.batchKey, (this.#waitingByKey.get(candidate?.batchKey) ?? 0) + 1);
    }
  }

  /** Whether one more start fits in {@link PLAN_BUDGET}. */
  get withinBudget(): boolean {
    return this.#visits + this.#future.waiting <= PLAN_BUDGET;
  }

  /**
   * The next start, headed by a job `mayStart` allows (by default every job; given, it is asked only about jobs
   * with a candidate); `undefined` when none of them waits.
   */
  next(mayStart?: (candidate: BatchCandidate<P>) => boolean): PlayedStart<P> | undefined {
    this.#visits += this.#future.waiting;
    const allowed =
      mayStart &&
      ((id: string) => {
        const candidate = this.#candidateOf(id);
        return candidate !== undefined && mayStart(candidate);
      });
    const head = this.#future.takeNext(allowed);
    if (head === undefined) return undefined;
    const candidate = this.#candidateOf(head);
    const key = candidate?.batchKey;
    const others = (this.#waitingByKey.get(key) ?? 0) - 1;
    const batch = candidate !== undefined && others > 0 ? companionsOf(this.#batching, candidate, this.#candidateOf) : undefined;
    const taken = batch ? this.#future.takeBatch(batch.accepts, batch.full) : [];
    this.#waitingByKey.set(key, others - taken.length);
    return { ids: [head, ...taken], head: candidate };
  }

  /** The jobs not played yet, in fair order. */
  rest(): string[] {
    return this.#future.order();
  }
}

/**
 * The starts the queue will make for the waiting jobs of `fair`, in order, each the ids of the jobs that start
 * together in one slot: what the queue does each time a slot frees (see {@link StartPlayer}), where any free slot
 * runs any job — so the order does not depend on which slot frees first, and is exact until a job is added or
 * removed.
 *
 * Each start played reads the fair order, so a long queue is played only as far as {@link PLAN_BUDGET} allows (at
 * least one start): the jobs left after that are counted alone in their fair order, which overstates their wait
 * when they would batch — they are far back, where newcomers will move them anyway.
 */
export function planStarts<P, R>(fair: FairQueue, batching: BatchSettings<P, R>, candidateOf: (id: string) => BatchCandidate<P> | undefined): string[][] {
  const player = new StartPlayer(fair, batching, candidateOf);
  const starts: string[][] = [];
  while (starts.length === 0 || player.withinBudget) {
    const start = player.next();
    if (!start) return starts;
    starts.push(start.ids);
  }
  return [...starts, ...player.rest().map((id) => [id])];
}

/** The GPU slots where each runs only some jobs (GPU workers, each with its own models), as they stand now. */
export interface SlotsWithRoom<P> {
  /** Slots in all (the queue's concurrency: each worker's slots). */
  readonly count: number;
  /** The slots taken now: the payload of a job of each running batch (they share its key), and ms until it ends. */
  readonly taken: ReadonlyArray<{ readonly payload: P; readonly endMs: number }>;
  /** Whether a job may start beside the running ones (`QueueSettings.hasRoom`). */
  readonly hasRoom: (payload: P, running: readonly P[]) => boolean;
}

/** Jobs that start together in one slot (their ids, the head first), and when they end, in ms from now. */
export interface TimedStart {
  readonly ids: readonly string[];
  readonly endMs: number;
}

/**
 * The starts the queue will make for the waiting jobs of `fair` where a job needs room on a slot with its model
 * (GPU workers), each with its end: the queue's own moves played ahead on its slots in time. Whenever a slot is free
 * — now, then each time the running start that ends first ends — the next job that has room beside those running
 * starts with its batch (see {@link StartPlayer}), taking a slot for `durationMs` of its ids. So which model gets a
 * freed worker follows from which worker frees first, as in the queue, and a job without room keeps its place while
 * the jobs behind it start.
 *
 * Jobs that cannot start in the play (no worker online has their model), and those past {@link PLAN_BUDGET}, are
 * counted alone in their fair order after it, each on the first slot to free.
 */
export function planStartsWithRoom<P, R>(
  fair: FairQueue,
  batching: BatchSettings<P, R> | undefined,
  candidateOf: (id: string) => BatchCandidate<P> | undefined,
  slots: SlotsWithRoom<P>,
  durationMs: (ids: readonly string[]) => number,
): TimedStart[] {
  const player = new StartPlayer(fair, batching, candidateOf);
  const taken = [...slots.taken];
  const starts: TimedStart[] = [];
  let now = 0;
  const playing = () => starts.length === 0 || player.withinBudget;
  while (playing()) {
    const running = taken.map(({ payload }) => payload);
    const start = taken.length < slots.count ? player.next((candidate) => slots.hasRoom(candidate.job.payload, running)) : undefined;
    if (start) {
      // Asked with `mayStart`, the player starts only a job with a candidate, read once: none is lost here.
      if (!start.head) throw new Error(`planStartsWithRoom: job ${start.ids[0]} started without the candidate it was allowed on.`);
      const endMs = now + durationMs(start.ids);
      taken.push({ payload: start.head.job.payload, endMs });
      starts.push({ ids: start.ids, endMs });
      continue;
    }
    // No room now: time moves on to the end of the start that ends first, which frees its slot.
    const first = taken.reduce((earliest, slot, index) => (slot.endMs < (taken[earliest]?.endMs ?? Infinity) ? index : earliest), 0);
    const [freed] = taken.splice(first, 1);
    if (!freed) break; // nothing runs and nothing can start
    now = Math.max(now, freed.endMs);
  }
  const rest = player.rest();
  const freeAt = [...taken.map(({ endMs }) => endMs), ...Array<number>(Math.max(slots.count - taken.length, 0)).fill(now)];
  const finishes = projectFinishes(freeAt, slots.count, rest.map((id) => durationMs([id])));
  return [...starts, ...rest.map((id, i) => ({ ids: [id], endMs: finishes[i] ?? now }))];
}
