import type { Queue, QueueAddOptions } from 'p-queue';
import { interleave, Turns, type Lane, type Standing } from './turns.js';

/** A task as p-queue hands it to its queue class (p-queue does not export this type). */
type RunFunction = () => Promise<unknown>;

/** The options `JobQueue` passes to p-queue's `add()` for each job; p-queue hands them to {@link FairQueue.enqueue}. */
export type FairQueueAddOptions = QueueAddOptions & {
  /** The member who owns the job. */
  readonly ownerId: string;
  /** The guild the job came from. */
  readonly guildId: string;
};

interface Waiting {
  readonly id: string;
  readonly run: RunFunction;
  readonly ownerId: string;
  readonly guildId: string;
}

/** The waiting jobs of one guild: a FIFO per member, and whose turn it is among those members. */
interface Guild {
  readonly members: Turns;
  readonly lanes: Map<string, Waiting[]>;
  size: number;
}

/**
 * A p-queue `queueClass` that starts jobs round-robin: guilds take turns, and inside a guild its members take turns,
 * each member's jobs in the order they came. A member's second job therefore waits until every member with a job
 * waiting in that guild has had a turn. Jobs added with `priority > 0` (retries and jobs resumed after a restart)
 * go to the front, first come first served, without using a turn.
 *
 * p-queue calls `dequeue()` whenever a GPU slot frees, so p-queue stays the concurrency limiter and this class only
 * decides who is next. `order()` predicts the start order of all waiting jobs, for positions and ETAs; it is exact
 * until the next job is added or removed.
 *
 * Where not every slot can run every job (GPU workers each with their own models), `mayStart` says which waiting
 * jobs have room now: `dequeue()` takes the job whose turn it is among those, as if the others were not waiting. A
 * job without room keeps its place without holding up the jobs behind it, and the jobs that can start take turns
 * as they would alone (so the jobs of one model start in their fair order among themselves).
 */
export class FairQueue implements Queue<RunFunction, FairQueueAddOptions> {
  readonly #front: Waiting[] = [];
  /** Guilds' turns; replaced only when a {@link copy} is made. */
  #guildTurns = new Turns();
  readonly #guilds = new Map<string, Guild>();
  readonly #byId = new Map<string, Waiting>();
  readonly #mayStart: (id: string) => boolean;

  /** @param mayStart - whether waiting job `id` has room to start now; by default every job fits any free slot. */
  constructor(mayStart: (id: string) => boolean = () => true) {
    this.#mayStart = mayStart;
  }

  /** Waiting jobs that may start now (`mayStart`): p-queue reads this to decide whether to call `dequeue()`. */
  get size(): number {
    let startable = 0;
    for (const id of this.#byId.keys()) if (this.#mayStart(id)) startable += 1;
    return startable;
  }

  /** Waiting jobs, whether they may start now or not. */
  get waiting(): number {
    return this.#byId.size;
  }

  /** Adds a job; `options` must carry `id`, `ownerId` and `guildId`. */
  enqueue(run: RunFunction, options?: Partial<FairQueueAddOptions>): void {
    const { id, ownerId, guildId, priority = 0 } = options ?? {};
    if (id === undefined || ownerId === undefined || guildId === undefined) {
      throw new TypeError('FairQueue needs `id`, `ownerId` and `guildId` in the options of every task.');
    }
    if (this.#byId.has(id)) throw new Error(`FairQueue: job ${id} is already waiting.`);
    const waiting = { id, run, ownerId, guildId };
    this.#byId.set(id, waiting);
    if (priority > 0) this.#front.push(waiting);
    else this.#addToLane(waiting);
  }

  /** Takes the job whose turn it is among those that may start now (`order()` of those alone). */
  dequeue(): RunFunction | undefined {
    return this.#takeNext()?.run;
  }

  /**
   * What {@link dequeue} does, returning the id of the job taken: for predicting starts on a {@link copy}, where
   * `mayStart` says which jobs would have room then (a copy has none of its own: room depends on what runs then).
   */
  takeNext(mayStart: (id: string) => boolean = this.#mayStart): string | undefined {
    return this.#takeNext(mayStart)?.id;
  }

  #takeNext(mayStart: (id: string) => boolean = this.#mayStart): Waiting | undefined {
    const [id] = this.#orderOf((waiting) => mayStart(waiting.id));
    const waiting = id === undefined ? undefined : this.#byId.get(id);
    if (!waiting) return undefined;
    this.#byId.delete(waiting.id);
    const atFront = this.#front.indexOf(waiting);
    if (atFront >= 0) this.#front.splice(atFront, 1);
    else this.#takeTurn(waiting);
    return waiting;
  }

  /**
   * An independent copy of the waiting jobs and the turns, in which every job may start (`mayStart` is not copied:
   * room depends on what runs then). Taking jobs from it ({@link takeNext}, {@link takeBatch}) predicts what the
   * real queue will do, without touching it.
   */
  copy(): FairQueue {
    const copy = new FairQueue();
    copy.#front.push(...this.#front);
    for (const [id, waiting] of this.#byId) copy.#byId.set(id, waiting);
    copy.#guildTurns = this.#guildTurns.copy();
    for (const [guildId, guild] of this.#guilds) {
      const lanes = new Map([...guild.lanes].map(([ownerId, items]) => [ownerId, [...items]]));
      copy.#guilds.set(guildId, { members: guild.members.copy(), lanes, size: guild.size });
    }
    return copy;
  }

  /**
   * Takes the jobs that start together with the job `dequeue()` just returned, as one batch: walking the waiting
   * jobs in start order (`order()`), each job the fairness rule below allows is offered to `accept`, which takes it
   * (true: it fits the batch) or passes it over (false: another model or size, no room left). A passed-over job keeps
   * its place and its member's turn. Each job taken counts as its member's and its guild's turn exactly as
   * `dequeue()` counts it, so with nothing passed over a batch is exactly the next jobs `dequeue()` would return.
   *
   * **Fairness rule** — a batch never skips ahead of a member who already had a turn: once a job J is passed over, a
   * later job K is offered only if
   * - K is its member's first waiting job (each member's jobs start in the order they came, so a member with a job
   *   passed over has nothing taken after it);
   * - in J's guild, K's member's next turn comes no later than J's member's (K's member has not had more turns
   *   than J's: it takes its turn of the round J's member is waiting in, or an earlier one);
   * - in another guild, K's guild's next turn comes no later than J's guild's (likewise between guilds);
   * - J is not a job at the front (a retry or resumed job): those start strictly first, so passing one ends the batch.
   * Turns are read as they stand after the jobs taken so far. So inside a guild the jobs left waiting keep their
   * order; across guilds a passed-over job moves back only behind guilds that have not had their turn yet, when its
   * own guild took its turn in the batch with another member's job (test/queue/batching.test.ts checks both).
   * @param full - whether the batch has no room left for any job: the walk ends there, as every job after would be
   *   passed over (which changes nothing).
   * @returns the ids taken, in the order they were offered.
   */
  takeBatch(accept: (id: string) => boolean, full: () => boolean = () => false): string[] {
    const taken: string[] = [];
    const passed: Waiting[] = [];
    for (const id of this.order()) {
      if (full()) break;
      const waiting = this.#byId.get(id);
      if (!waiting) continue;
      const atFront = this.#front.includes(waiting);
      if (!atFront && !(this.#isLaneHead(waiting) && passed.every((other) => this.#mayGoBefore(waiting, other)))) continue;
      if (!accept(id)) {
        if (atFront) break;
        passed.push(waiting);
        continue;
      }
      taken.push(id);
      this.#byId.delete(id);
      if (atFront) this.#front.splice(this.#front.indexOf(waiting), 1);
      else this.#takeTurn(waiting);
    }
    return taken;
  }

  /** Whether `waiting` is the first waiting job of its member in its guild. */
  #isLaneHead(waiting: Waiting): boolean {
    return this.#guilds.get(waiting.guildId)?.lanes.get(waiting.ownerId)?.[0] === waiting;
  }

  /** Whether `waiting`, its member's first job, may start before `passed`, a job passed over (see {@link takeBatch}). */
  #mayGoBefore(waiting: Waiting, passed: Waiting): boolean {
    if (waiting.guildId !== passed.guildId) {
      return this.#standing(this.#guildTurns, waiting.guildId).turn <= this.#standing(this.#guildTurns, passed.guildId).turn;
    }
    const members = this.#guilds.get(waiting.guildId)?.members;
    if (!members) throw new Error(`FairQueue: guild ${waiting.guildId} is waiting with no members.`);
    return this.#standing(members, waiting.ownerId).turn <= this.#standing(members, passed.ownerId).turn;
  }

  /** Removes a waiting job (p-queue calls this when a queued task's signal aborts). Unknown ids are ignored. */
  remove(id: string): void {
    const waiting = this.#byId.get(id);
    if (!waiting) return;
    this.#byId.delete(id);
    const index = this.#front.indexOf(waiting);
    if (index >= 0) this.#front.splice(index, 1);
    else this.#removeFromLane(waiting);
  }

  /** Moves a waiting job to the front (`priority > 0`) or to the back of its owner's jobs (otherwise). */
  setPriority(id: string, priority: number): void {
    const waiting = this.#byId.get(id);
    if (!waiting) return;
    this.remove(id);
    const { ownerId, guildId } = waiting;
    this.enqueue(waiting.run, { id, ownerId, guildId, priority });
  }

  /** The waiting tasks whose owner and guild match those given in `options`. */
  filter(options: Readonly<Partial<FairQueueAddOptions>>): RunFunction[] {
    return [...this.#byId.values()]
      .filter((w) => (options.ownerId ?? w.ownerId) === w.ownerId && (options.guildId ?? w.guildId) === w.guildId)
      .map((w) => w.run);
  }

  /**
   * Ids of the waiting jobs in the order they will start: the front, then the guilds' jobs interleaved by the
   * guilds' turns, each guild's own jobs interleaved by its members' turns. Exactly what successive `dequeue()`
   * calls return, as long as nothing is added or removed.
   */
  order(): string[] {
    return this.#orderOf(() => true);
  }

  /**
   * {@link order} of the waiting jobs `keep` keeps, as if the others were not waiting: a member whose first job
   * cannot start yet keeps the turns of this round for its jobs that can.
   */
  #orderOf(keep: (waiting: Waiting) => boolean): string[] {
    const guildLanes: Array<Lane<Waiting>> = [];
    for (const [guildId, guild] of this.#guilds) {
      const memberLanes = [...guild.lanes].map(([ownerId, items]) => ({ standing: this.#standing(guild.members, ownerId), items: items.filter(keep) }));
      const items = interleave(memberLanes);
      if (items.length > 0) guildLanes.push({ standing: this.#standing(this.#guildTurns, guildId), items });
    }
    return [...this.#front.filter(keep), ...interleave(guildLanes)].map((waiting) => waiting.id);
  }

  #addToLane(waiting: Waiting): void {
    let guild = this.#guilds.get(waiting.guildId);
    if (!guild) {
      guild = { members: new Turns(), lanes: new Map(), size: 0 };
      this.#guilds.set(waiting.guildId, guild);
    }
    if (guild.size === 0) this.#guildTurns.join(waiting.guildId);
    let lane = guild.lanes.get(waiting.ownerId);
    if (!lane) {
      lane = [];
      guild.lanes.set(waiting.ownerId, lane);
      guild.members.join(waiting.ownerId);
    }
    lane.push(waiting);
    guild.size += 1;
  }

  /** Starts `waiting`: its member and its guild have had a turn. */
  #takeTurn(waiting: Waiting): void {
    this.#guilds.get(waiting.guildId)?.members.served(waiting.ownerId);
    this.#guildTurns.served(waiting.guildId);
    this.#removeFromLane(waiting);
  }

  /** Takes `waiting` out of its member's lane; members and guilds left with nothing waiting leave their rotation. */
  #removeFromLane(waiting: Waiting): void {
    const guild = this.#guilds.get(waiting.guildId);
    const lane = guild?.lanes.get(waiting.ownerId);
    const index = lane?.indexOf(waiting) ?? -1;
    if (!guild || !lane || index < 0) throw new Error(`FairQueue: job ${waiting.id} is not in its lane.`);
    lane.splice(index, 1);
    guild.size -= 1;
    if (lane.length === 0) {
      guild.lanes.delete(waiting.ownerId);
      guild.members.leave(waiting.ownerId);
    }
    // The guild itself stays: its rotation remembers who has had a turn in this round (one per guild the bot serves).
    if (guild.size === 0) this.#guildTurns.leave(waiting.guildId);
  }

  #standing(turns: Turns, key: string): Standing {
    const standing = turns.standing(key);
    if (!standing) throw new Error(`FairQueue: "${key}" has jobs but no turn.`);
    return standing;
  }
}

/**
 * A {@link FairQueue} class for p-queue's `queueClass` option that reports each instance p-queue creates, since
 * p-queue constructs its queue itself and `JobQueue` needs that instance for `order()`.
 */
export function fairQueueClass(onCreate: (queue: FairQueue) => void, mayStart?: (id: string) => boolean): new () => FairQueue {
  return class extends FairQueue {
    constructor() {
      super(mayStart);
      onCreate(this);
    }
  };
}
