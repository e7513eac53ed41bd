import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { FailureError } from '../failure.js';
import { QueueClosing } from '../queue/index.js';
import { servedModel, type BatchGeneration, type GenerateOptions, type GeneratedImages, type ImageGenerator, type ServedModel } from '../generator/generator.js';
import type { GenerationRequest } from '../generator/request.js';
import type { PipelineHealth, PipelineHealthSource } from '../generator/pipeline-health.js';
import type { GpuDirectory, GpuStatus } from '../generator/gpu-status.js';
import type { Logger } from '../log.js';
import { decodeImage, REQUEST_LIMITS, toRgb8 } from '../pipeline/index.js';
import {
  CANCEL_CHANNEL,
  HEARTBEAT_MS,
  WORKER_EXPIRY_MS,
  WORKERS_KEY,
  cancelledKeyOf,
  handoverKeyOf,
  handoverResultSchema,
  logOutages,
  redisOptions,
  workProgressSchema,
  workQueueOf,
  workResultSchema,
  workerInfoSchema,
  type Handover,
  type WorkerInfo,
} from './protocol.js';
import { hasRoomFor } from './slot-matching.js';

/** The largest picture a worker may send back: the largest a request may ask for, both sides at the limit. */
const MAX_RESULT_PIXELS = REQUEST_LIMITS.size.max ** 2;

/** BullMQ states of a job handed over that no worker has taken yet. */
const NOT_TAKEN = new Set<string>(['waiting', 'prioritized', 'delayed', 'waiting-children']);

/** How long a finished job stays in Redis for a bot that restarted before collecting it. */
const KEEP_FINISHED_S = 3600;

/** A worker as the bot last saw it: `heardAt` is the bot's clock when its heartbeat last changed (no clock skew). */
interface SeenWorker {
  readonly info: WorkerInfo;
  readonly heardAt: number;
}

/** One model's BullMQ queue, and its events (progress, ends), opened on the model's first job. */
interface ModelQueue {
  readonly queue: Queue;
  readonly events: QueueEvents;
}

/**
 * How long the models of a worker that went away stay on offer (`WORKER_GONE_SECONDS` changes it): a job for one is
 * accepted and waits for the worker to come back (a restart, an update); after this a new one is refused, naming the
 * models on offer, and one still waiting fails (see `abandonedMs`).
 */
export const MODEL_REMEMBERED_MS = 10 * 60_000;

/**
 * The bot's generator when the GPUs are on other machines (`QUEUE_URL`): each job the fair queue starts is handed
 * to BullMQ, on its model's queue, and run by a `dreamcord worker` that has the model; progress and the pictures come
 * back through Redis. The bot's queue keeps fairness, positions and ETAs: it starts a job only when a worker with
 * the job's model has a free slot (`hasRoom`), so BullMQ never holds a backlog that could be served out of turn, and
 * a job whose model has no free worker does not hold up the jobs of other models.
 */
export class RemoteGenerator
  extends EventEmitter<{ health: [PipelineHealth]; capacity: [number]; models: [] }>
  implements ImageGenerator, PipelineHealthSource, GpuDirectory
{
  readonly #connection: ReturnType<typeof redisOptions>;
  readonly #redis: Redis;
  readonly #log: Logger;
  /** How long a gone worker's models stay on offer ({@link MODEL_REMEMBERED_MS} unless configured). */
  readonly #rememberedMs: number;
  /** When the bot connected: a model no worker has had since is waited for as long from then. */
  readonly #connectedAt = Date.now();
  /** Each model's queue, by `workQueueOf` name. */
  readonly #queues = new Map<string, Promise<ModelQueue>>();
  readonly #workers = new Map<string, SeenWorker>();
  /** Workers that stopped beating, as last seen. */
  readonly #gone = new Map<string, SeenWorker>();
  /**
   * Registry entries not heard beating yet, by name, with the `seenAt` first read: an entry is online once it
   * changes. A worker that died leaves its entry behind; a bot that starts (or first reads it) must not take it for
   * a live one, offer its models and hand it jobs.
   */
  readonly #unheard: Map<string, number>;
  #poll: NodeJS.Timeout | undefined;
  #capacity = 0;
  /** What `hasRoom` depends on (each worker's capacity and models), to tell the queue when it changes. */
  #placement = '';
  /** What the jobs waiting for a model depend on (the placement, the models on offer), to tell them when it changes. */
  #offer = '';
  /** `hasRoom`'s answers by model, for the workers and running jobs of `key`. */
  #rooms: { readonly key: string; readonly byModel: Map<string, boolean> } | undefined;

  private constructor(connection: ReturnType<typeof redisOptions>, redis: Redis, log: Logger, rememberedMs: number, unheard: Map<string, number>) {
    super();
    this.#unheard = unheard;
    this.#connection = connection;
    this.#redis = redis;
    this.#log = log;
    this.#rememberedMs = rememberedMs;
  }

  /**
   * Connects to the Redis at `url` and waits for the first worker to register (the bot cannot build requests
   * before it knows a model). `rememberedMs`: how long a gone worker's models stay on offer.
   */
  static async connect(url: string, log: Logger, rememberedMs = MODEL_REMEMBERED_MS): Promise<RemoteGenerator> {
    const connection = redisOptions(url);
    const redis = new Redis(connection);
    logOutages(redis, log, 'bot');
    const unheard = await firstWorker(redis, log);
    const generator = new RemoteGenerator(connection, redis, log, rememberedMs, unheard);
    await generator.#refresh();
    generator.#poll = setInterval(() => void generator.#refresh(), HEARTBEAT_MS);
    return generator;
  }

  /**
   * The models of the workers online, and of those gone less than {@link MODEL_REMEMBERED_MS} (as configured) ago (their jobs wait
   * for them): workers by name, each one's models in its order (`MODEL_DIR`'s first), so the default is the first
   * worker's own. A model two workers have is offered once, as the first describes it.
   */
  get models(): readonly ServedModel[] {
    const now = Date.now();
    const remembered = [...this.#gone.values()].filter((seen) => now - seen.heardAt < this.#rememberedMs);
    const workers = [...this.#workers.values(), ...remembered].map((seen) => seen.info).sort((a, b) => a.name.localeCompare(b.name));
    const models = new Map<string, ServedModel>();
    for (const model of workers.flatMap((worker) => worker.models)) {
      if (!models.has(model.name.toLowerCase())) models.set(model.name.toLowerCase(), model);
    }
    return [...models.values()];
  }

  /** How long ago the last worker with `model` left, while no worker online has it. */
  awayMs(model: string): number | undefined {
    return this.#online(model) ? undefined : this.#lastLeftMs(model);
  }

  /**
   * The time a gone worker's models stay on offer, once the bot has waited that long for a worker with `model`: no
   * worker online has it, and the last one left (or, not seen since, the bot connected) that long ago. Its waiting
   * jobs then fail, saying they waited that long (the window members were promised, not the registry read's moment
   * past it). Undefined while they should wait.
   */
  abandonedMs(model: string): number | undefined {
    if (this.#online(model)) return undefined;
    const waitedMs = this.#lastLeftMs(model) ?? Date.now() - this.#connectedAt;
    return waitedMs >= this.#rememberedMs ? this.#rememberedMs : undefined;
  }

  /** Whether a worker online has `model`. */
  #online(model: string): boolean {
    return [...this.#workers.values()].some(holds(model));
  }

  /** How long ago the last gone worker with `model` was heard; undefined when none had it. */
  #lastLeftMs(model: string): number | undefined {
    const lastSeen = Math.max(...[...this.#gone.values()].filter(holds(model)).map(({ heardAt }) => heardAt));
    return Number.isFinite(lastSeen) ? Date.now() - lastSeen : undefined;
  }

  /** Jobs the workers online run at once, over all their models (at least 1, the queue's least). */
  get capacity(): number {
    return Math.max(1, this.#capacity);
  }

  /**
   * Whether a worker online with model `model` has a free slot beside the jobs running for `running` (see
   * `hasRoomFor`). The queue asks for each waiting job whenever it looks for the next: the answers are kept per model
   * until the running jobs or the workers change.
   */
  hasRoom(model: string, running: readonly string[]): boolean {
    const lower = running.map((name) => name.toLowerCase());
    const key = `${this.#placement}\n${[...lower].sort().join('\n')}`;
    if (this.#rooms?.key !== key) this.#rooms = { key, byModel: new Map() };
    let answer = this.#rooms.byModel.get(model.toLowerCase());
    if (answer === undefined) {
      const workers = this.workers.map(({ capacity, models }) => ({ capacity, models: new Set(models.map(({ name }) => name.toLowerCase())) }));
      answer = hasRoomFor(workers, lower, model.toLowerCase());
      this.#rooms.byModel.set(model.toLowerCase(), answer);
    }
    return answer;
  }

  /** The workers online now. */
  get workers(): readonly WorkerInfo[] {
    return [...this.#workers.values()].map((seen) => seen.info);
  }

  /** The workers online and the jobs each runs, as of their last heartbeat (at most {@link HEARTBEAT_MS} old). */
  gpus(): readonly GpuStatus[] {
    return this.workers.map(({ name, provider, models, capacity, batchMaxRows, running = [] }) => ({
      worker: name,
      provider,
      models: models.map((model) => model.name),
      capacity,
      batchRows: batchMaxRows,
      running: running.length,
      jobIds: running,
    }));
  }

  get health(): PipelineHealth {
    const providers = [...new Set(this.workers.map((worker) => worker.provider))];
    return { state: this.#workers.size > 0 ? 'ready' : 'down', provider: providers.join('+') || 'none', fallback: false, failures: 0 };
  }

  /** Hands the job to a worker with its model: a handover of one (see {@link generateBatch}). */
  async generate(request: GenerationRequest, options: GenerateOptions): Promise<GeneratedImages> {
    const [run] = this.generateBatch([{ request, options }], 1);
    if (!run) throw new Error('RemoteGenerator: the job was not handed over.');
    return run;
  }

  /**
   * Hands compatible jobs (the same `batchKeyOf`, so the same model) to a worker with their model as one handover,
   * which it runs as one UNet batch in one of its slots, at most `maxRows` rows per model run (its own
   * `BATCH_MAX_ROWS` is the other limit). A job a handover already carries (the bot restarted while a worker ran
   * it) joins that one instead of running twice.
   * @returns one promise per job, in order: its pictures or its failure. Cancelling one job stops it alone.
   */
  generateBatch(jobs: readonly BatchGeneration[], maxRows: number): Promise<GeneratedImages>[] {
    const members = jobs.map(({ request, options }) => ({ request, options, jobId: options.jobId ?? randomUUID() }));
    const handedOver = this.#handOver(members, Math.max(1, maxRows));
    return members.map(async ({ jobId }) => {
      const run = (await handedOver).get(jobId);
      if (!run) throw new Error(`RemoteGenerator: job ${jobId} was not handed over.`);
      return run;
    });
  }

  /**
   * The UNet rows a handover of model `model`'s jobs may take: the smallest `BATCH_MAX_ROWS` of the workers online
   * with the model (any of them may take it); 0 while none is online.
   */
  batchRowsOf(model: string): number {
    const rows = [...this.#workers.values()].filter(holds(model)).map(({ info }) => info.batchMaxRows);
    return rows.length > 0 ? Math.min(...rows) : 0;
  }

  /**
   * Hands `members` over as one new handover, except those a live handover already carries, which join it; starts
   * collecting each one's answer. A job cancelled before it is handed over is not.
   * @returns each job's run, by id.
   */
  async #handOver(members: readonly Member[], maxRows: number): Promise<Map<string, Promise<GeneratedImages>>> {
    const runs = new Map<string, Promise<GeneratedImages>>();
    for (const { jobId, options } of members) if (options.signal.aborted) runs.set(jobId, handled(Promise.reject(options.signal.reason as Error)));
    const live = members.filter(({ options }) => !options.signal.aborted);
    const [first] = live;
    if (!first) return runs;
    const model = servedModel(this.models, first.request.model);
    if (!model) throw new FailureError('INVALID_REQUEST', { field: 'model' });
    const { queue, events } = await this.#queueOf(model.name);
    const carriers = await this.#carriers(queue, live.map(({ jobId }) => jobId));
    // Each handover's work is encoded once (its pictures as base64): submitted now, or kept to submit again should
    // Redis lose it.
    const handovers = [...new Set(carriers.values())].map((id) => {
      const joined = live.filter(({ jobId }) => carriers.get(jobId) === id);
      return { id, members: joined, created: false, work: handoverOf(joined, maxRows) };
    });
    const fresh = live.filter(({ jobId }) => !carriers.has(jobId));
    if (fresh.length > 0) {
      const id = randomUUID();
      const work = handoverOf(fresh, maxRows);
      await submit(this.#redis, queue, id, work);
      handovers.push({ id, members: fresh, created: true, work });
    }
    for (const handover of handovers) {
      for (const [jobId, run] of this.#collect({ queue, events, model: model.name }, handover)) runs.set(jobId, handled(run));
    }
    return runs;
  }

  /**
   * The handovers (BullMQ job ids) already carrying any of `jobIds`, by job id: a bot that restarted joins them. One
   * that failed (its workers died under it twice) or that Redis lost carries nothing: its jobs are handed over again.
   */
  async #carriers(queue: Queue, jobIds: readonly string[]): Promise<Map<string, string>> {
    const handoverIds = await this.#redis.mget(jobIds.map(handoverKeyOf));
    // Each handover's state once, the reads sent together on the queue's connection (pipelined: one round trip).
    const named = [...new Set(handoverIds.filter((id) => id !== null))];
    const states = await Promise.all(named.map((id) => queue.getJobState(id)));
    const carrying = new Set(named.filter((_, index) => states[index] !== 'failed' && states[index] !== 'unknown'));
    const carriers = new Map<string, string>();
    for (const [index, handoverId] of handoverIds.entries()) {
      const jobId = jobIds[index];
      if (handoverId !== null && jobId !== undefined && carrying.has(handoverId)) carriers.set(jobId, handoverId);
    }
    return carriers;
  }

  /**
   * Collects handover `id`'s answer for `members` (the jobs of it this call hands over or joins) from model
   * `model`'s queue, relaying each one's progress; `work`: what to hand over again should Redis lose it. Once every
   * member has ended, a handover this call created is removed from Redis (a running one is not: its worker finishes it), unless the bot left it to the next
   * start; a joined one may carry jobs of another batch and expires on its own.
   * @returns each member's run, by id.
   */
  #collect(
    { queue, events, model }: ModelQueue & { readonly model: string },
    { id, members, created, work }: { id: string; members: readonly Member[]; created: boolean; work: Handover },
  ): Map<string, Promise<GeneratedImages>> {
    const byId = new Map(members.map((member) => [member.jobId, member]));
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
      const progress = jobId === id ? workProgressSchema.safeParse(data) : undefined;
      if (progress?.success) byId.get(progress.data.jobId)?.options.onProgress(progress.data.step, progress.data.total);
    };
    events.on('progress', onProgress);
    /** Aborted once every member has ended, so the state watch stops. */
    const ended = new AbortController();
    const finished = queue.getJob(id).then((job) => job?.waitUntilFinished(events).catch(lostWorker) ?? new Promise<never>(() => undefined));
    const parts = handled(Promise.race([finished, this.#watch(queue, model, id, work, ended.signal)]).then(partsOf));
    const runs = members.map(({ jobId, options }) => this.#answerOf(jobId, options.signal, parts));
    void Promise.allSettled(runs).then(() => {
      ended.abort();
      events.off('progress', onProgress);
      const leftForRestart = members.some(({ options }) => options.signal.reason instanceof QueueClosing);
      if (created && !leftForRestart) void queue.remove(id).catch(() => undefined);
    });
    return new Map(members.map(({ jobId }, index) => [jobId, runs[index] ?? Promise.reject(new Error(`no run for ${jobId}`))]));
  }

  /** Job `jobId`'s pictures from its part of its handover's answer (`parts`), or its failure; its signal stops it alone. */
  async #answerOf(jobId: string, signal: AbortSignal, parts: Promise<(jobId: string) => unknown>): Promise<GeneratedImages> {
    let stop = () => {};
    const stopped = new Promise<never>((_, reject) => {
      stop = () => {
        reject(signal.reason as Error);
        // The bot is shutting down: the job goes on on its worker, and the next start collects it by its id.
        if (signal.reason instanceof QueueClosing) return;
        // Marked first, for a worker that takes the handover later; published, for the one running it now (within a step).
        void this.#redis.multi().set(cancelledKeyOf(jobId), '1', 'EX', KEEP_FINISHED_S).publish(CANCEL_CHANNEL, jobId).exec().catch(() => undefined);
      };
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    });
    try {
      const partOf = await Promise.race([parts, stopped]);
      return await resultOf(partOf(jobId));
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  /** Model `model`'s queue and its events, opened on its first job. */
  #queueOf(model: string): Promise<ModelQueue> {
    const name = workQueueOf(model);
    let opened = this.#queues.get(name);
    if (!opened) {
      const queue = new Queue(name, { connection: this.#connection });
      const events = new QueueEvents(name, { connection: this.#connection });
      // One listener per running job; a busy bot runs as many as its workers' capacity.
      events.setMaxListeners(0);
      opened = Promise.all([queue.waitUntilReady(), events.waitUntilReady()]).then(() => ({ queue, events }));
      this.#queues.set(name, opened);
    }
    return opened;
  }

  /**
   * The handover's answer, read by polling its state: events can be lost (a Redis restart resets the event stream), the
   * job's state cannot. A handover Redis no longer has (restarted without persistence) is handed over again. One no
   * worker has taken when the bot gives up on its model (`model`: see `abandonedMs`) fails as a waiting job does: it
   * was handed over to a worker that was going away (its last heartbeat still fresh), and none came back.
   */
  async #watch(queue: Queue, model: string, handoverId: string, work: Handover, signal: AbortSignal): Promise<unknown> {
    while (!signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS));
      const state = await queue.getJobState(handoverId).catch(() => 'unreachable' as const);
      if (state === 'completed' || state === 'failed') {
        const job = await queue.getJob(handoverId);
        if (state === 'failed') lostWorker(new Error(job?.failedReason ?? 'failed'));
        if (job) return job.returnvalue;
      }
      const waitedMs = this.abandonedMs(model);
      // Removed only while no worker holds it (a worker that takes it meanwhile runs it).
      if (waitedMs !== undefined && !signal.aborted && (state === 'unknown' || (NOT_TAKEN.has(state) && (await queue.remove(handoverId).catch(() => 0)) === 1))) {
        throw new FailureError('NO_WORKER', { model, waitedMs });
      }
      if (state === 'unknown' && !signal.aborted) {
        this.#log.warn({ handoverId, jobIds: work.jobs.map(({ jobId }) => jobId) }, 'GPU workers: Redis lost a handover (restarted?); handing it over again');
        await submit(this.#redis, queue, handoverId, work).catch(() => undefined);
      }
    }
    return new Promise<never>(() => undefined); // the abort settles the race
  }

  async close(): Promise<void> {
    clearInterval(this.#poll);
    for (const opened of this.#queues.values()) {
      const { queue, events } = await opened;
      await events.close();
      await queue.close();
    }
    this.#redis.disconnect();
  }

  /**
   * Reads the registry: workers whose heartbeat stopped are gone; emits 'capacity' when the slots or the models
   * online change (so the queue starts the jobs that now have room), 'models' when they or the models on offer
   * change (so the waiting jobs show it, or fail once given up), and 'health' when the first comes or the last goes.
   */
  async #refresh(): Promise<void> {
    let registry: Map<string, WorkerInfo>;
    try {
      registry = await readRegistry(this.#redis);
    } catch (error) {
      this.#log.warn({ err: error }, 'GPU workers: cannot read the registry (Redis unreachable?)');
      return;
    }
    const now = Date.now();
    const before = this.#workers.size;
    for (const [name, info] of registry) {
      const seen = this.#workers.get(name) ?? this.#gone.get(name);
      if (seen?.info.seenAt === info.seenAt) continue; // no heartbeat since
      if (!seen && (this.#unheard.get(name) ?? info.seenAt) === info.seenAt) {
        this.#unheard.set(name, info.seenAt); // online at its next heartbeat, if it beats
        continue;
      }
      this.#unheard.delete(name);
      if (!this.#workers.has(name)) this.#log.info({ worker: name, capacity: info.capacity, provider: info.provider }, 'GPU worker online');
      this.#workers.set(name, { info, heardAt: now });
      this.#gone.delete(name);
    }
    for (const [name, seen] of this.#workers) {
      if (now - seen.heardAt <= WORKER_EXPIRY_MS && registry.has(name)) continue;
      this.#workers.delete(name);
      // Remembered, so its stale entry does not count as a new heartbeat; it is back when it beats again.
      this.#gone.set(name, seen);
      this.#log.warn({ worker: name }, 'GPU worker gone');
    }
    this.#capacity = [...this.#workers.values()].reduce((sum, { info }) => sum + info.capacity, 0);
    const placement = JSON.stringify(this.workers.map(({ name, capacity, models }) => [name, capacity, models.map((model) => model.name)]).sort());
    if (placement !== this.#placement) {
      this.#placement = placement;
      this.emit('capacity', this.capacity);
    }
    // Past the first wait, a model no worker had since the start is given up like one whose worker left.
    const offer = JSON.stringify([placement, this.models.map((model) => model.name), now - this.#connectedAt >= this.#rememberedMs]);
    if (offer !== this.#offer) {
      this.#offer = offer;
      this.emit('models');
    }
    if ((before === 0) !== (this.#workers.size === 0)) this.emit('health', this.health);
  }
}

/** Whether a worker seen has model `model`. */
function holds(model: string): (seen: SeenWorker) => boolean {
  return ({ info }) => info.models.some(({ name }) => name.toLowerCase() === model.toLowerCase());
}

/** A job of a handover, as the bot's queue gives it. */
interface Member {
  readonly jobId: string;
  readonly request: GenerationRequest;
  readonly options: GenerateOptions;
}

/** What a worker is given for `members`: each one's request and the pictures it starts from (PNG, base64). */
function handoverOf(members: readonly Member[], maxRows: number): Handover {
  const base64 = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('base64') : undefined);
  const jobs = members.map(({ jobId, request, options }) => {
    const [image, mask] = [base64(options.inputs?.image), base64(options.inputs?.mask)];
    return { jobId, work: { request, inputs: { ...(image === undefined ? {} : { image }), ...(mask === undefined ? {} : { mask }) } } };
  });
  return { jobs, maxRows };
}

/**
 * Adds handover `handoverId` to its model's queue, after recording which handover carries each of its jobs (a bot
 * that stops between the two finds a handover Redis does not have, and hands the jobs over again). Adding one with
 * an id Redis has joins it.
 */
async function submit(redis: Redis, queue: Queue, handoverId: string, handover: Handover): Promise<void> {
  const carriers = handover.jobs.reduce((multi, { jobId }) => multi.set(handoverKeyOf(jobId), handoverId, 'EX', KEEP_FINISHED_S), redis.multi());
  await carriers.exec();
  await queue.add('generate', handover, {
    jobId: handoverId,
    attempts: 1,
    removeOnComplete: { age: KEEP_FINISHED_S },
    removeOnFail: { age: KEEP_FINISHED_S },
  });
}

/** A promise whose rejection is handled where it is awaited later (not reported as unhandled meanwhile). */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * Waits for a worker to beat (an entry whose heartbeat changes: one a dead worker left stays as it is), logging once
 * while it waits. Resolves with the entries' `seenAt` as read before that beat, for the first registry read to
 * judge them by.
 */
async function firstWorker(redis: Redis, log: Logger): Promise<Map<string, number>> {
  const before = new Map<string, number>();
  for (let reads = 1; ; reads += 1) {
    const registry = await readRegistry(redis);
    if ([...registry].some(([name, info]) => (before.get(name) ?? info.seenAt) !== info.seenAt)) return before;
    for (const [name, info] of registry) before.set(name, info.seenAt);
    // Told once no worker has beaten for a heartbeat's time (a live one beats every HEARTBEAT_MS).
    if (reads === 3) log.info('waiting for a GPU worker to register (start `dreamcord worker` with the same QUEUE_URL)');
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS / 2));
  }
}

/** The workers' registry entries that parse as one (an entry from Redis is checked, not trusted), by name. */
async function readRegistry(redis: Redis): Promise<Map<string, WorkerInfo>> {
  const entries = Object.entries(await redis.hgetall(WORKERS_KEY)).flatMap(([name, text]) => {
    const parsed = workerInfoSchema.safeParse(parseJson(text));
    return parsed.success ? [[name, parsed.data] as const] : [];
  });
  return new Map(entries);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** BullMQ failed the job itself: its worker died twice under it (stalled) or Redis lost it. Another attempt may work. */
function lostWorker(error: unknown): never {
  throw new FailureError('PIPELINE_STOPPED', { reason: error instanceof Error ? error.message : String(error) }, { transient: true, cause: error });
}

/**
 * A handover's answer, read once for all its jobs: each job's part of it by id (a {@link WorkResult}, which
 * `resultOf` reads); a failure of the whole handover is each job's.
 */
function partsOf(answer: unknown): (jobId: string) => unknown {
  const parsed = handoverResultSchema.safeParse(answer);
  if (!parsed.success) throw new FailureError('FAILED', { reason: 'a GPU worker sent an answer that is not valid' });
  const { data } = parsed;
  if (!('jobs' in data)) return () => data;
  return (jobId) => {
    const own = data.jobs[jobId];
    if (own === undefined) throw new FailureError('FAILED', { reason: 'a GPU worker sent no answer for this job' });
    return own;
  };
}

/** A worker's answer as the pictures, or its failure thrown as data. */
async function resultOf(answer: unknown): Promise<GeneratedImages> {
  const parsed = workResultSchema.safeParse(answer);
  if (!parsed.success) throw new FailureError('FAILED', { reason: 'a GPU worker sent an answer that is not valid' });
  const result = parsed.data;
  if (!result.ok) throw new FailureError(result.failure.code, result.failure.details, { transient: result.failure.transient });
  const images = await Promise.all(
    result.images.map(async ({ png, seed, parameters }) => {
      const decoded = await decodeImage(Buffer.from(png, 'base64'), { maxPixels: MAX_RESULT_PIXELS }).catch(() => {
        throw new FailureError('FAILED', { reason: 'a GPU worker sent a picture that is not a valid PNG' });
      });
      return { image: toRgb8(decoded.image), seed, parameters };
    }),
  );
  return { images, warnings: result.warnings, model: result.model, durationMs: result.durationMs };
}
