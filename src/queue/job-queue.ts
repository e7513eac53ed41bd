import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import PQueue, { TimeoutError } from 'p-queue';
import { z } from 'zod';
import { companionsOf, planStarts, planStartsWithRoom, type TimedStart } from './batch-plan.js';
import { expectInteger } from './checks.js';
import { projectFinishes, remainingMs } from './eta.js';
import type { JobOutcome, JobQueueEvents, Placement, QueueInspection, QueueStats } from './events.js';
import { classifyFailure, interrupted, timedOut, type Failure } from './failure.js';
import { fairQueueClass, type FairQueue, type FairQueueAddOptions } from './fair-queue.js';
import { StoreJournal, type QueueJournal } from './journal.js';
import { checkCost, costUnits, MAX_ATTEMPTS, type Job } from './job.js';
import { resolveOptions, type JobQueueOptions, type QueueSettings, type ResolvedOptions } from './options.js';
import {
  ALREADY_DONE,
  NOT_OWNER,
  notFound,
  queueFull,
  SHUTTING_DOWN,
  userLimitReached,
  type CancelResult,
  type Canceller,
  type JobRequest,
  type SubmitResult,
} from './results.js';
import type { WorkQueue } from './queue.js';
import { QueueClosing, type BatchSettings, type JobContext } from './runner.js';
import { Timings, type SlotRun } from './timings.js';

/** Why a waiting job's queued task is withdrawn from p-queue when it starts in another job's batch. */
const JOINED_BATCH = new DOMException('The job started in a batch.', 'AbortError');

/** Finished job ids remembered so that a late cancel gets ALREADY_DONE rather than NOT_FOUND. */
const REMEMBERED_FINISHED = 1000;

/** Jobs that started together in one GPU slot (a job run alone is a batch of one); the slot is held until all end. */
interface Batch<P, R> extends SlotRun {
  readonly members: readonly Entry<P, R>[];
  readonly startedAt: number;
  /** Members still holding the slot. */
  open: number;
  /** Whether every member that ended so far completed: only then does its duration measure its shape. */
  completed: boolean;
}

/** A job known to this process, from acceptance until it ends. */
interface Entry<P, R> {
  job: Job<P>;
  /** Its batch key (`BatchSettings.keyOf`), read once: the ETA's plan reads it for every waiting job on every change. */
  readonly batchKey: string | undefined;
  /** The batch of its current or last attempt. */
  batch: Batch<P, R> | undefined;
  /** `suspending`: stopped by `close({ drain: false })`, to be resumed by the next start. */
  status: 'live' | 'suspending' | 'cancelled' | 'done';
  /** Last position told to listeners; 0 once running. */
  position: number;
  /** Fraction of the current attempt done, from the runner's progress reports. */
  progress: number;
  /** Aborting it takes the job out of p-queue while it waits; a new one for each enqueue. */
  dequeue: AbortController;
  /** The signal of the current attempt; a new one for each attempt. */
  run: AbortController;
  /** Settles when the current attempt has given its slot back and its end is recorded. */
  settled: Promise<void>;
  readonly outcome: Promise<JobOutcome<P, R>>;
  readonly resolve: (outcome: JobOutcome<P, R>) => void;
}

/**
 * The GPU job queue: fair across guilds and members, persistent across restarts, and independent of Discord.
 * p-queue limits concurrency to the GPU slots; {@link FairQueue} decides whose job starts next.
 *
 * Lifecycle: `await JobQueue.open(options)`, attach listeners, `await start()` (which re-queues the jobs of the last
 * run and emits 'resumed' or 'failed' for them), then `submit()` and `cancel()`; finally `close()`.
 */
export class JobQueue<P, R> extends EventEmitter<JobQueueEvents<P, R>> implements WorkQueue<P, R> {
  readonly #options: ResolvedOptions<P, R>;
  readonly #journal: QueueJournal<P>;
  readonly #pq: PQueue<FairQueue, FairQueueAddOptions>;
  readonly #fair: FairQueue;
  readonly #timings: Timings;
  /** Jobs waiting or running, by id. */
  readonly #live = new Map<string, Entry<P, R>>();
  /** Jobs holding a GPU slot (including a cancelled one whose runner has not returned yet). */
  readonly #slots = new Set<Entry<P, R>>();
  /** Waiting jobs per owner, counting those whose record is being written, for the limits. */
  readonly #waitingByOwner = new Map<string, number>();
  #waiting = 0;
  readonly #finished = new Set<string>();
  #restored: readonly Job<P>[];
  /** GPU slots now: the option's value until `resize`. */
  #concurrency: number;
  #nextSeq: number;
  #started = false;
  #closing: Promise<void> | undefined;
  #positionsDue = false;
  /** Bumped by every change that can move a waiting job or change an ETA; keys the placements cache. */
  #version = 0;
  #cached: { readonly version: number; readonly at: number; readonly placements: Map<string, Placement> } | undefined;
  /** Bumped by every change of the waiting jobs; keys the planned starts. */
  #orderVersion = 0;
  #plan: { readonly version: number; readonly starts: readonly (readonly Entry<P, R>[])[] } | undefined;

  private constructor(options: ResolvedOptions<P, R>, journal: QueueJournal<P>, restored: readonly Job<P>[]) {
    super();
    this.#options = options;
    this.#journal = journal;
    this.#restored = [...restored].sort((a, b) => a.seq - b.seq);
    this.#nextSeq = restored.reduce((next, job) => Math.max(next, job.seq + 1), 0);
    this.#timings = new Timings(options.initialMsPerUnit);
    this.#concurrency = options.concurrency;
    const created: FairQueue[] = [];
    this.#pq = new PQueue({
      concurrency: options.concurrency,
      autoStart: false,
      queueClass: fairQueueClass((queue) => created.push(queue), options.hasRoom && this.#hasRoom.bind(this, options.hasRoom)),
    });
    const [fair] = created;
    if (!fair) throw new Error('p-queue did not create its queue from `queueClass`.');
    this.#fair = fair;
  }

  /** Opens the queue on its journal and reads the jobs left by the last run; `start()` queues them. */
  static async open<P, R>(options: JobQueueOptions<P, R>): Promise<JobQueue<P, R>> {
    const resolved = resolveOptions(options);
    const journal =
      'journal' in options ? options.journal : await StoreJournal.open(options.store, options.collection ?? 'queue-jobs', resolved.payloadSchema);
    return new JobQueue(resolved, journal, await journal.load());
  }

  /**
   * Re-queues the jobs of the last run in their original order, those that were running first, emitting
   * 'resumed' for each; a job that was running on its last attempt fails with `INTERRUPTED` instead. Then starts
   * running jobs. Call it once, after attaching listeners.
   */
  async start(): Promise<void> {
    if (this.#started) throw new Error('JobQueue.start() was called twice.');
    this.#started = true;
    const resumed: Array<{ readonly entry: Entry<P, R>; readonly wasRunning: boolean }> = [];
    const exhausted: Job<P>[] = [];
    for (const job of this.#restored) {
      const wasRunning = job.state === 'running';
      if (wasRunning && job.attempts >= MAX_ATTEMPTS) {
        exhausted.push(job);
        continue;
      }
      this.#enterWaiting(job.ownerId);
      // The record keeps saying 'running' until the job starts again, so a crash meanwhile still counts.
      resumed.push({ entry: this.#admit({ ...job, state: 'queued' }, wasRunning), wasRunning });
    }
    this.#restored = [];
    for (const job of exhausted) await this.#dropInterrupted(job);
    const placements = this.#placements();
    for (const { entry, wasRunning } of resumed) {
      const placement = this.#require(placements.get(entry.job.id), entry.job.id);
      entry.position = placement.position;
      this.emit('resumed', { job: entry.job, wasRunning, ...placement });
    }
    this.#pq.start();
  }

  /**
   * Accepts a job, or refuses it at once with a reason a member can read when the owner or the queue is at its
   * limit of waiting jobs or the queue is closing. The job's record is stored before this resolves. An invalid
   * payload or cost is a bug and throws; so does a store failure.
   */
  async submit(request: JobRequest<P>): Promise<SubmitResult<P, R>> {
    if (!this.#started) throw new Error('Call JobQueue.start() before submit(): the jobs of the last run go first.');
    if (this.#closing) return SHUTTING_DOWN;
    const payload = this.#parsePayload(request.payload);
    const cost = checkCost(this.#options.costOf(payload));
    const userLimit = expectInteger('maxQueuedPerUser', request.maxQueuedPerUser ?? this.#options.maxQueuedPerUser, 1);
    const mine = this.#waitingByOwner.get(request.ownerId) ?? 0;
    if (mine >= userLimit) return userLimitReached(mine, userLimit);
    if (this.#waiting >= this.#options.maxQueued) return queueFull(this.#options.maxQueued);
    const job: Job<P> = {
      id: randomUUID(),
      ownerId: request.ownerId,
      guildId: request.guildId,
      ...(request.channelId === undefined ? {} : { channelId: request.channelId }),
      payload,
      cost,
      seq: this.#nextSeq++,
      acceptedAt: this.#options.now(),
      attempts: 0,
      state: 'queued',
    };
    this.#enterWaiting(job.ownerId); // holds the place while the record is written, so concurrent submits count
    try {
      await this.#journal.put(job);
    } catch (error) {
      this.#leaveWaiting(job.ownerId);
      throw error;
    }
    const entry = this.#admit(job, false);
    const placement = this.#placementOf(entry);
    entry.position = placement.position;
    this.emit('queued', { job, ...placement });
    return { ok: true, job, outcome: entry.outcome, ...placement };
  }

  /**
   * Cancels a job for its owner or a moderator: a waiting job leaves the queue; a running one has its signal
   * aborted (the runner stops between steps, and keeps its slot until it returns or reaches its time limit).
   */
  async cancel(jobId: string, by: Canceller): Promise<CancelResult<P>> {
    const entry = this.#live.get(jobId);
    if (!entry) return this.#finished.has(jobId) ? ALREADY_DONE : notFound(jobId);
    if (entry.job.ownerId !== by.byUserId && by.isModerator !== true) return NOT_OWNER;
    const wasRunning = entry.job.state === 'running';
    this.#finish(entry, 'cancelled');
    const reason = new DOMException('The job was cancelled.', 'AbortError');
    if (wasRunning) {
      entry.run.abort(reason);
    } else {
      this.#dropWaiting(entry, reason);
    }
    await this.#quietly(this.#journal.delete(jobId));
    const event = { job: entry.job, byUserId: by.byUserId, wasRunning };
    entry.resolve({ status: 'cancelled', ...event });
    this.emit('cancelled', event);
    return { ok: true, job: entry.job, wasRunning };
  }

  /**
   * Ends a waiting job as failed, as data: it leaves the queue as a cancelled one does (its place and its owner's
   * waiting count freed), and its outcome and 'failed' event carry `failure`.
   */
  async failWaiting(jobId: string, failure: Failure): Promise<boolean> {
    const entry = this.#live.get(jobId);
    if (entry?.job.state !== 'queued') return false;
    this.#finish(entry, 'done');
    this.#dropWaiting(entry, new DOMException('The job can never run.', 'AbortError'));
    await this.#quietly(this.#journal.delete(jobId));
    const event = { job: entry.job, failure };
    entry.resolve({ status: 'failed', ...event });
    this.emit('failed', event);
    return true;
  }

  /** Takes waiting `entry` out of the queue: its owner's waiting count and its place freed, the order re-told. */
  #dropWaiting(entry: Entry<P, R>, reason: DOMException): void {
    this.#leaveWaiting(entry.job.ownerId);
    entry.dequeue.abort(reason); // p-queue removes it from the FairQueue
    this.#orderChanged();
  }

  /** The waiting jobs in the order they will start, each with its place. */
  waiting(): readonly (Placement & { readonly job: Job<P> })[] {
    return [...this.#placements()].map(([id, placement]) => ({ job: this.#require(this.#live.get(id), id).job, ...placement }));
  }

  /** The job `jobId` while it waits or runs, else `undefined`. */
  get(jobId: string): Job<P> | undefined {
    return this.#live.get(jobId)?.job;
  }

  /** How `jobId` ends in this process (never rejects), or `undefined` when it is not waiting or running. */
  outcomeOf(jobId: string): Promise<JobOutcome<P, R>> | undefined {
    return this.#live.get(jobId)?.outcome;
  }

  /**
   * Where `jobId` stands now: position 1 is next to start; a running job has position 0 and the ETA of its end.
   * `undefined` when the job is not waiting or running.
   */
  positionOf(jobId: string): Placement | undefined {
    const entry = this.#live.get(jobId);
    return entry && this.#placementOf(entry);
  }

  /** Queue length, running jobs and recent timings. */
  stats(): QueueStats {
    const maxBatchSize = this.#options.batching?.maxSize ?? 1;
    return { queued: this.#fair.waiting, running: this.#slots.size, concurrency: this.#concurrency, maxBatchSize, ...this.#timings.summary() };
  }

  inspect(): QueueInspection {
    const now = this.#options.now();
    return {
      stats: this.stats(),
      closing: this.#closing !== undefined,
      slots: { taken: this.#pq.pending, tasksWaiting: this.#pq.size, paused: this.#pq.isPaused },
      waitingCount: this.#waiting,
      waitingByOwner: Object.fromEntries(this.#waitingByOwner),
      waiting: this.waiting().map(({ job, position }) => ({ id: job.id, ownerId: job.ownerId, position, attempts: job.attempts })),
      running: [...this.#slots].map(({ job, status, batch, progress }) => ({
        id: job.id,
        ownerId: job.ownerId,
        status,
        attempts: job.attempts,
        runningMs: now - (batch?.startedAt ?? now),
        progress,
      })),
    };
  }

  /**
   * Whether waiting job `id` has room beside the slots taken now (see `QueueSettings.hasRoom`): a batch takes one
   * slot, so it counts once, by the payload of one of its jobs still running (they share the batch key).
   */
  #hasRoom(hasRoom: NonNullable<QueueSettings<P, R>['hasRoom']>, id: string): boolean {
    const entry = this.#live.get(id);
    return entry !== undefined && hasRoom(entry.job.payload, [...this.#runningBatches().values()]);
  }

  /** The batches holding a slot now, each with the payload of one of its jobs still running. */
  #runningBatches(): Map<Batch<P, R> | undefined, P> {
    return new Map([...this.#slots].map((running) => [running.batch, running.job.payload]));
  }

  resize(concurrency: number): void {
    this.#concurrency = expectInteger('concurrency', concurrency, 1);
    this.#pq.concurrency = this.#concurrency;
    this.#orderChanged();
  }

  /**
   * Stops accepting jobs and starting them. With `drain` (the default) running jobs finish; without it their
   * signals are aborted and they resume first at the next start, their attempt not counted. Waiting jobs keep their
   * records for the next start and their outcomes settle as `suspended`. Resolves when every running job has given
   * its slot back (at the latest at its time limit) and every store write has landed.
   */
  close(options: { readonly drain?: boolean } = {}): Promise<void> {
    this.#closing ??= this.#shutDown(options.drain ?? true);
    return this.#closing;
  }

  async #shutDown(drain: boolean): Promise<void> {
    this.#pq.pause();
    if (!drain) {
      for (const entry of this.#slots) {
        if (entry.status !== 'live') continue;
        entry.status = 'suspending';
        entry.run.abort(new QueueClosing());
      }
    }
    await Promise.all([...this.#slots].map((entry) => entry.settled));
    await this.#journal.flush();
    for (const entry of this.#live.values()) entry.resolve({ status: 'suspended', job: entry.job });
  }

  /** Registers an accepted job and queues it (at the front when `front`). */
  #admit(job: Job<P>, front: boolean): Entry<P, R> {
    let resolve: (outcome: JobOutcome<P, R>) => void = () => undefined;
    const outcome = new Promise<JobOutcome<P, R>>((settle) => (resolve = settle));
    const entry: Entry<P, R> = {
      job,
      batchKey: this.#options.batching?.keyOf(job.payload),
      batch: undefined,
      status: 'live',
      position: 0,
      progress: 0,
      dequeue: new AbortController(),
      run: new AbortController(),
      settled: Promise.resolve(),
      outcome,
      resolve,
    };
    this.#live.set(job.id, entry);
    this.#enqueue(entry, front);
    return entry;
  }

  #enqueue(entry: Entry<P, R>, front: boolean): void {
    const { id, ownerId, guildId } = entry.job;
    entry.dequeue = new AbortController();
    const held = this.#pq.add(() => this.#start(entry), {
      id,
      ownerId,
      guildId,
      priority: front ? 1 : 0,
      signal: entry.dequeue.signal,
      timeout: this.#options.jobTimeoutMs,
    });
    // A job taken into another job's batch leaves p-queue this way; its batch settles it (see #start).
    entry.settled = this.#settle(entry, held, (error) => error === JOINED_BATCH);
    this.#orderChanged();
  }

  /** Records how an attempt ended: its result, or its failure unless `ignore` says it was not the attempt's end. */
  #settle(entry: Entry<P, R>, attempt: Promise<R>, ignore: (error: unknown) => boolean = () => false): Promise<void> {
    return attempt
      .then(
        (result) => this.#succeed(entry, result),
        (error: unknown) => (ignore(error) ? undefined : this.#fail(entry, error)),
      )
      .catch((error: unknown) => this.#report(error));
  }

  /**
   * Runs one attempt; p-queue calls it when a slot is free and the job's turn has come. With batching, the jobs
   * that fit its batch start with it (taken from the fair queue at once, in fair order) and the slot is held until
   * each of them has ended; each ends on its own (result, failure, cancel, time limit).
   */
  async #start(entry: Entry<P, R>): Promise<R> {
    const companions = this.#takeCompanions(entry);
    const members = [entry, ...companions];
    const batch = this.#newBatch(members);
    for (const member of members) this.#markRunning(member, batch);
    this.#orderChanged();
    const { batching } = this.#options;
    if (!batching || companions.length === 0) {
      await this.#quietly(this.#journal.put(entry.job));
      entry.run.signal.throwIfAborted(); // cancelled, or the queue closed, while the start was being recorded
      this.#emitStarted(entry, batch);
      return this.#options.runner(entry.job, this.#contextOf(entry));
    }
    const [attempt, ...others] = this.#runBatch(batch, batching);
    companions.forEach((companion, i) => {
      companion.settled = this.#settle(companion, this.#withTimeLimit(others[i] ?? Promise.reject(new Error('no attempt'))));
    });
    // This job's own end is p-queue's to report, once the others have ended too (the slot is the batch's).
    await Promise.allSettled([attempt, ...others]);
    return attempt ?? Promise.reject(new Error('JobQueue: a batch without its first job.'));
  }

  /**
   * The jobs that start with `head`: the waiting jobs of the same batch key, in fair order, while they fit.
   * Each leaves p-queue (its queued task is aborted with {@link JOINED_BATCH}).
   */
  #takeCompanions(head: Entry<P, R>): Entry<P, R>[] {
    const batch = companionsOf(this.#options.batching, head, (id) => this.#live.get(id));
    if (!batch) return [];
    const companions = this.#fair.takeBatch(batch.accepts, batch.full).map((id) => this.#require(this.#live.get(id), id));
    for (const companion of companions) companion.dequeue.abort(JOINED_BATCH);
    return companions;
  }

  #newBatch(members: readonly Entry<P, R>[]): Batch<P, R> {
    return { members, startedAt: this.#options.now(), ...this.#slotRunOf(members), open: members.length, completed: true };
  }

  /** What the duration of `members`, started together, depends on: their cost units, their shape when they can batch. */
  #slotRunOf(members: readonly Entry<P, R>[]): SlotRun {
    const units = members.reduce((sum, { job }) => sum + costUnits(job.cost), 0);
    const { batching } = this.#options;
    const key = members[0]?.batchKey;
    if (!batching || key === undefined) return { units, shape: undefined };
    return { units, shape: { key, rows: members.reduce((sum, { job }) => sum + batching.sizeOf(job.payload), 0) } };
  }

  /** A job leaves the waiting line for a slot, in `batch`: a new attempt, with its own signal. */
  #markRunning(entry: Entry<P, R>, batch: Batch<P, R>): void {
    this.#leaveWaiting(entry.job.ownerId);
    this.#slots.add(entry);
    entry.job = { ...entry.job, state: 'running', attempts: entry.job.attempts + 1 };
    entry.batch = batch;
    entry.run = new AbortController();
    entry.progress = 0;
    entry.position = 0;
  }

  /**
   * Records the starts of `batch`'s members, then runs those not cancelled meanwhile as one batch.
   * @returns each member's attempt, in the order of `batch.members`.
   */
  #runBatch(batch: Batch<P, R>, batching: BatchSettings<P, R>): Promise<R>[] {
    const { members } = batch;
    const ran = Promise.all(members.map((member) => this.#quietly(this.#journal.put(member.job)))).then(() => {
      const live = members.filter((member) => !member.run.signal.aborted);
      for (const member of live) this.#emitStarted(member, batch);
      const attempts = live.length > 0 ? batching.run(live.map((member) => ({ job: member.job, context: this.#contextOf(member) }))) : [];
      return members.map((member) => {
        const index = live.indexOf(member);
        if (index < 0) return Promise.reject(member.run.signal.reason as Error);
        return attempts[index] ?? Promise.reject(new Error('JobQueue: the batch runner returned fewer attempts than jobs.'));
      });
    });
    return members.map((_, i) => ran.then((attempts) => attempts[i] ?? Promise.reject(new Error('no attempt'))));
  }

  /** `attempt`, failing with p-queue's `TimeoutError` at the job time limit (p-queue times only the first job of a batch). */
  #withTimeLimit(attempt: Promise<R>): Promise<R> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`Task timed out after ${this.#options.jobTimeoutMs}ms`)), this.#options.jobTimeoutMs);
    });
    return Promise.race([attempt, limit]).finally(() => clearTimeout(timer));
  }

  #emitStarted({ job }: Entry<P, R>, batch: Batch<P, R>): void {
    this.emit('started', { job, waitedMs: batch.startedAt - job.acceptedAt, expectedMs: this.#timings.expectedMs(batch) });
  }

  #contextOf(entry: Entry<P, R>): JobContext {
    const { run } = entry;
    return { signal: run.signal, reportProgress: (step, total) => this.#progress(entry, run, step, total) };
  }

  async #succeed(entry: Entry<P, R>, result: R): Promise<void> {
    const dropped = entry.status === 'cancelled' || entry.status === 'done'; // cancelled meanwhile: the result is dropped
    this.#releaseSlot(entry, !dropped);
    if (dropped) return;
    const { startedAt } = this.#require(entry.batch, entry.job.id); // the batch of the attempt that succeeded
    const runMs = this.#options.now() - startedAt;
    this.#timings.recordJob(runMs, startedAt - entry.job.acceptedAt);
    this.#finish(entry, 'done');
    await this.#quietly(this.#journal.delete(entry.job.id));
    const event = { job: entry.job, result, runMs };
    entry.resolve({ status: 'completed', ...event });
    this.emit('completed', event);
  }

  async #fail(entry: Entry<P, R>, error: unknown): Promise<void> {
    this.#releaseSlot(entry, false);
    if (entry.status === 'cancelled' || entry.status === 'done') return; // already told
    if (entry.status === 'suspending') {
      // Give the stopped attempt back: the next start resumes the job at the front with its retry intact.
      await this.#quietly(this.#journal.put({ ...entry.job, attempts: entry.job.attempts - 1 }));
      return;
    }
    const timeout = error instanceof TimeoutError;
    const failure = timeout ? timedOut(this.#options.jobTimeoutMs) : classifyFailure(error);
    // p-queue has freed the slot; the signal tells a runner that is still going to stop.
    if (timeout) entry.run.abort(new DOMException('The job ran past its time limit.', 'TimeoutError'));
    if (failure.transient && entry.job.attempts < MAX_ATTEMPTS) {
      const job: Job<P> = { ...entry.job, state: 'queued' };
      entry.job = job;
      this.#enterWaiting(job.ownerId);
      this.#enqueue(entry, true);
      this.emit('retrying', { job, failure });
      await this.#quietly(this.#journal.put(job));
      return;
    }
    this.#finish(entry, 'done');
    await this.#quietly(this.#journal.delete(entry.job.id));
    const event = { job: entry.job, failure };
    entry.resolve({ status: 'failed', ...event });
    this.emit('failed', event);
  }

  #progress(entry: Entry<P, R>, run: AbortController, step: number, total: number): void {
    expectInteger('total', total, 1);
    expectInteger('step', step, 0);
    if (step > total) throw new RangeError(`Expected \`step\` to be at most \`total\` (${total}), got ${step}.`);
    if (entry.run !== run || run.signal.aborted) return; // a report from an attempt that was stopped
    entry.progress = step / total;
    this.#version += 1;
    this.emit('progress', { job: entry.job, step, total, etaMs: Math.round(this.#remainingMs(entry.batch)) });
  }

  /** A job that was running at both of its attempts when the bot stopped: fail it rather than risk a crash loop. */
  async #dropInterrupted(job: Job<P>): Promise<void> {
    const failure = interrupted(job.attempts);
    this.#remember(job.id);
    await this.#journal.delete(job.id);
    this.emit('failed', { job, failure });
  }

  /** Ends a job's life in this process: it no longer counts as live and a later cancel gets ALREADY_DONE. */
  #finish(entry: Entry<P, R>, status: 'done' | 'cancelled'): void {
    entry.status = status;
    this.#live.delete(entry.job.id);
    this.#remember(entry.job.id);
  }

  #remember(jobId: string): void {
    this.#finished.add(jobId);
    if (this.#finished.size > REMEMBERED_FINISHED) {
      const [oldest] = this.#finished;
      if (oldest !== undefined) this.#finished.delete(oldest);
    }
  }

  #enterWaiting(ownerId: string): void {
    this.#waiting += 1;
    this.#waitingByOwner.set(ownerId, (this.#waitingByOwner.get(ownerId) ?? 0) + 1);
  }

  #leaveWaiting(ownerId: string): void {
    this.#waiting -= 1;
    const left = (this.#waitingByOwner.get(ownerId) ?? 0) - 1;
    if (left > 0) this.#waitingByOwner.set(ownerId, left);
    else this.#waitingByOwner.delete(ownerId);
  }

  #placementOf(entry: Entry<P, R>): Placement {
    if (entry.job.state === 'running') return { position: 0, etaMs: Math.round(this.#remainingMs(entry.batch)) };
    return this.#require(this.#placements().get(entry.job.id), entry.job.id);
  }

  /**
   * Position and ETA of every waiting job, by id, in start order; computed once per change and clock tick. A job's
   * position is the start it is in (1: it starts when a slot next frees, in a batch or alone); its ETA is that
   * start's end.
   */
  #placements(): Map<string, Placement> {
    const at = this.#options.now();
    if (this.#cached?.version === this.#version && this.#cached.at === at) return this.#cached.placements;
    const { hasRoom } = this.#options;
    const starts = hasRoom ? this.#startsWithRoom(hasRoom) : this.#startsOnAnySlot();
    const placements = new Map(
      starts.flatMap(({ ids, endMs }, i) => ids.map((id) => [id, { position: i + 1, etaMs: Math.round(endMs) }] as const)),
    );
    this.#cached = { version: this.#version, at, placements };
    return placements;
  }

  /** Where any free slot runs any job (the bot's own GPU): the planned starts laid on the slots as they free. */
  #startsOnAnySlot(): TimedStart[] {
    const starts = this.#plannedStarts();
    const finishes = projectFinishes(
      [...this.#runningBatches().keys()].map((batch) => this.#remainingMs(batch)),
      this.#concurrency,
      starts.map((members) => this.#timings.expectedMs(this.#slotRunOf(members))),
    );
    return starts.map((members, i) => ({ ids: members.map((entry) => entry.job.id), endMs: finishes[i] ?? 0 }));
  }

  /**
   * Where a job needs room on a slot with its model (GPU workers, `hasRoom`): what starts depends on which worker
   * frees first, so the queue's moves are played in time on the slots (`planStartsWithRoom`), from the running
   * batches' remaining times, each start timed as the bot's own are.
   */
  #startsWithRoom(hasRoom: NonNullable<QueueSettings<P, R>['hasRoom']>): TimedStart[] {
    const taken = [...this.#runningBatches()].map(([batch, payload]) => ({ payload, endMs: this.#remainingMs(batch) }));
    const entryOf = (id: string) => this.#require(this.#live.get(id), id);
    return planStartsWithRoom(
      this.#fair,
      this.#options.batching,
      (id) => this.#live.get(id),
      { count: this.#concurrency, taken, hasRoom },
      (ids) => this.#timings.expectedMs(this.#slotRunOf(ids.map(entryOf))),
    );
  }

  /**
   * The waiting jobs grouped by the start they will be in, in order, where any free slot runs any job: the queue's
   * own moves played ahead (`planStarts`), recomputed only when the waiting jobs change. Without batching each job
   * starts alone in the fair order.
   */
  #plannedStarts(): readonly (readonly Entry<P, R>[])[] {
    if (this.#plan?.version === this.#orderVersion) return this.#plan.starts;
    const { batching } = this.#options;
    const ids = batching ? planStarts(this.#fair, batching, (id) => this.#live.get(id)) : this.#fair.order().map((id) => [id]);
    const starts = ids.map((batch) => batch.map((id) => this.#require(this.#live.get(id), id)));
    this.#plan = { version: this.#orderVersion, starts };
    return starts;
  }

  /**
   * A job gave its slot back (`completed`: with its result); once the last of its batch has, a batch whose jobs all
   * completed has its duration recorded, in the same tick, before any placement is read. (A batch with a job
   * cancelled, failed or stopped ran short of its rows: its duration measures nothing.)
   */
  #releaseSlot(entry: Entry<P, R>, completed: boolean): void {
    this.#slots.delete(entry);
    this.#version += 1;
    const { batch } = entry;
    if (batch) {
      batch.open -= 1;
      batch.completed &&= completed;
      if (batch.open === 0 && batch.completed) this.#timings.recordRun(batch, this.#options.now() - batch.startedAt);
    }
    // p-queue looked for the next job when the attempt ended, a tick before this: with room per model, the job that
    // fits the freed room may not have fitted then. Setting the concurrency makes p-queue look again.
    if (this.#options.hasRoom) this.#pq.concurrency = this.#concurrency;
  }

  /**
   * Records that waiting jobs may have moved (a job was queued, started or removed) and emits 'position' for
   * those that did, once per burst of changes (a microtask later).
   */
  #orderChanged(): void {
    this.#version += 1;
    this.#orderVersion += 1;
    if (this.#positionsDue) return;
    this.#positionsDue = true;
    queueMicrotask(() => {
      this.#positionsDue = false;
      if (this.listenerCount('position') > 0) this.#emitPositions();
    });
  }

  #emitPositions(): void {
    for (const [id, placement] of this.#placements()) {
      const entry = this.#live.get(id); // a listener may have cancelled it meanwhile
      if (!entry || entry.position === placement.position) continue;
      const previous = entry.position;
      entry.position = placement.position;
      this.emit('position', { job: entry.job, previous, ...placement });
    }
  }

  /**
   * Expected remaining run time of `batch`, in ms: its jobs step together, so the progress of the one furthest on
   * (of those still in it) paces them all, and every job of it shows this time.
   */
  #remainingMs(batch: Batch<P, R> | undefined): number {
    if (!batch) return 0;
    const progress = Math.max(0, ...batch.members.filter((member) => member.batch === batch).map((member) => member.progress));
    return remainingMs(this.#timings.expectedMs(batch), this.#options.now() - batch.startedAt, progress);
  }

  #parsePayload(payload: P): P {
    const parsed = this.#options.payloadSchema.safeParse(payload);
    if (parsed.success) return parsed.data;
    throw new TypeError(`Expected a job payload that matches the queue's schema:\n${z.prettifyError(parsed.error)}`);
  }

  /** Waits for a store write that no caller waits for; a failure becomes an 'error' event. */
  #quietly(write: Promise<void>): Promise<void> {
    return write.catch((error: unknown) => this.#report(error));
  }

  #report(error: unknown): void {
    this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }

  #require<T>(value: T | undefined, jobId: string): T {
    if (value === undefined) throw new Error(`JobQueue: job ${jobId} is missing from its own bookkeeping.`);
    return value;
  }
}
