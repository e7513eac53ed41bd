import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { FailureError } from '../failure.js';
import { QueueClosing } from '../queue/index.js';
import type { GenerateOptions, GeneratedImages, ImageGenerator, ServedModel } from '../generator/generator.js';
import type { GenerationRequest } from '../generator/request.js';
import type { PipelineHealth, PipelineHealthSource } from '../generator/pipeline-health.js';
import type { GpuDirectory, GpuStatus } from '../generator/gpu-status.js';
import type { Logger } from '../log.js';
import { decodeImage, REQUEST_LIMITS, toRgb8 } from '../pipeline/index.js';
import {
  CANCEL_CHANNEL,
  HEARTBEAT_MS,
  WORK_QUEUE,
  WORKER_EXPIRY_MS,
  WORKERS_KEY,
  logOutages,
  redisOptions,
  workProgressSchema,
  workResultSchema,
  workerInfoSchema,
  type ModelInfo,
  type Work,
  type WorkerInfo,
} from './protocol.js';

/** The largest picture a worker may send back: the largest a request may ask for, both sides at the limit. */
const MAX_RESULT_PIXELS = REQUEST_LIMITS.size.max ** 2;

/** How long a finished job stays in Redis for a bot that restarted before collecting it. */
const KEEP_FINISHED_S = 3600;

/** A worker as the bot last saw it: `heardAt` is the bot's clock when its heartbeat last changed (no clock skew). */
interface SeenWorker {
  readonly info: WorkerInfo;
  readonly heardAt: number;
}

/**
 * The bot's generator when the GPUs are on other machines (`QUEUE_URL`): each job the fair queue starts is handed
 * to BullMQ and run by a `dreamcord worker`; progress and the pictures come back through Redis. The bot's queue
 * keeps fairness, positions and ETAs: it starts only as many jobs as the workers online can run (`capacity`), so
 * BullMQ never holds a backlog that could be served out of turn.
 */
export class RemoteGenerator extends EventEmitter<{ health: [PipelineHealth]; capacity: [number] }> implements ImageGenerator, PipelineHealthSource, GpuDirectory {
  readonly #queue: Queue;
  readonly #events: QueueEvents;
  readonly #redis: Redis;
  readonly #log: Logger;
  readonly #model: ModelInfo;
  readonly #workers = new Map<string, SeenWorker>();
  /** Workers that stopped beating, as last seen. */
  readonly #gone = new Map<string, SeenWorker>();
  #poll: NodeJS.Timeout | undefined;
  #capacity = 0;

  private constructor(queue: Queue, events: QueueEvents, redis: Redis, log: Logger, model: ModelInfo) {
    super();
    this.#queue = queue;
    this.#events = events;
    this.#redis = redis;
    this.#log = log;
    this.#model = model;
    // One listener per running job; a busy bot runs as many as its workers' capacity.
    this.#events.setMaxListeners(0);
  }

  /**
   * Connects to the Redis at `url` and waits for the first worker to register (the bot cannot build requests
   * before it knows the model); later workers must serve the same model.
   */
  static async connect(url: string, log: Logger): Promise<RemoteGenerator> {
    const connection = redisOptions(url);
    const redis = new Redis(connection);
    logOutages(redis, log, 'bot');
    const model = await firstWorker(redis, log);
    const queue = new Queue(WORK_QUEUE, { connection });
    const events = new QueueEvents(WORK_QUEUE, { connection });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    const generator = new RemoteGenerator(queue, events, redis, log, model);
    await generator.#refresh();
    generator.#poll = setInterval(() => void generator.#refresh(), HEARTBEAT_MS);
    return generator;
  }

  /** The workers' model (every worker serves the first one's). */
  get models(): readonly ServedModel[] {
    const { modelName, ...facts } = this.#model;
    return [{ name: modelName, displayName: modelName, ...facts }];
  }

  /** Jobs the workers online run at once (at least 1, so a job waits in BullMQ for the next worker). */
  get capacity(): number {
    return Math.max(1, this.#capacity);
  }

  /** The workers online now. */
  get workers(): readonly WorkerInfo[] {
    return [...this.#workers.values()].map((seen) => seen.info);
  }

  /** The workers online and the jobs each runs, as of their last heartbeat (at most {@link HEARTBEAT_MS} old). */
  gpus(): readonly GpuStatus[] {
    return this.workers.map(({ name, provider, model, capacity, running = [] }) => ({
      worker: name,
      provider,
      model: model.modelName,
      capacity,
      running: running.length,
      jobIds: running,
    }));
  }

  get health(): PipelineHealth {
    const providers = [...new Set(this.workers.map((worker) => worker.provider))];
    return { state: this.#workers.size > 0 ? 'ready' : 'down', provider: providers.join('+') || 'none', fallback: false, failures: 0 };
  }

  async generate(request: GenerationRequest, options: GenerateOptions): Promise<GeneratedImages> {
    options.signal.throwIfAborted();
    const jobId = options.jobId ?? randomUUID();
    const work: Work = {
      request,
      inputs: {
        ...(options.inputs?.image ? { image: Buffer.from(options.inputs.image).toString('base64') } : {}),
        ...(options.inputs?.mask ? { mask: Buffer.from(options.inputs.mask).toString('base64') } : {}),
      },
    };
    const job = await this.#submit(jobId, work);
    /** Aborted once this call ends, so the state watch stops. */
    const answered = new AbortController();
    const onProgress = ({ jobId: id, data }: { jobId: string; data: unknown }) => {
      const progress = id === jobId ? workProgressSchema.safeParse(data) : undefined;
      if (progress?.success) options.onProgress(progress.data.step, progress.data.total);
    };
    this.#events.on('progress', onProgress);
    const stopped = new Promise<never>((_, reject) => {
      const stop = () => {
        reject(options.signal.reason as Error);
        // The bot is shutting down: the job goes on on its worker, and the next start collects it by its id.
        if (options.signal.reason instanceof QueueClosing) return;
        // A waiting job is removed; a running one is stopped by its worker within a step.
        void this.#redis.publish(CANCEL_CHANNEL, jobId).catch(() => undefined);
        void job.remove().catch(() => undefined);
      };
      if (options.signal.aborted) stop();
      else options.signal.addEventListener('abort', stop, { once: true });
    });
    try {
      const watching = AbortSignal.any([options.signal, answered.signal]);
      const answer: unknown = await Promise.race([job.waitUntilFinished(this.#events).catch(lostWorker), this.#watch(jobId, work, watching), stopped]);
      const images = await resultOf(answer);
      // Collected: Redis need not keep it for a restart any more.
      void job.remove().catch(() => undefined);
      return images;
    } finally {
      answered.abort();
      this.#events.off('progress', onProgress);
    }
  }

  /** Adds the job; the job id is BullMQ's, so a job resubmitted after the bot restarted joins the one already there. */
  #submit(jobId: string, work: Work) {
    return this.#queue.add('generate', work, {
      jobId,
      attempts: 1,
      removeOnComplete: { age: KEEP_FINISHED_S },
      removeOnFail: { age: KEEP_FINISHED_S },
    });
  }

  /**
   * The job's answer, read by polling its state: events can be lost (a Redis restart resets the event stream), the
   * job's state cannot. A job Redis no longer has (restarted without persistence) is handed over again.
   */
  async #watch(jobId: string, work: Work, signal: AbortSignal): Promise<unknown> {
    while (!signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS));
      const state = await this.#queue.getJobState(jobId).catch(() => 'unreachable' as const);
      if (state === 'completed' || state === 'failed') {
        const job = await this.#queue.getJob(jobId);
        if (state === 'failed') lostWorker(new Error(job?.failedReason ?? 'failed'));
        if (job) return job.returnvalue;
      }
      if (state === 'unknown' && !signal.aborted) {
        this.#log.warn({ jobId }, 'GPU workers: Redis lost a job (restarted?); handing it over again');
        await this.#submit(jobId, work).catch(() => undefined);
      }
    }
    return new Promise<never>(() => undefined); // the abort settles the race
  }

  async close(): Promise<void> {
    clearInterval(this.#poll);
    await this.#events.close();
    await this.#queue.close();
    this.#redis.disconnect();
  }

  /** Reads the registry: workers whose heartbeat stopped are gone; emits 'capacity' and 'health' on a change. */
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
    const capacity = [...this.#workers.values()].reduce((sum, { info }) => sum + info.capacity, 0);
    if (capacity !== this.#capacity) {
      this.#capacity = capacity;
      this.emit('capacity', this.capacity);
    }
    if ((before === 0) !== (this.#workers.size === 0)) this.emit('health', this.health);
  }
}

/** Waits for a worker to register and returns its model, logging once while it waits. */
async function firstWorker(redis: Redis, log: Logger): Promise<ModelInfo> {
  let told = false;
  for (;;) {
    const [first] = (await readRegistry(redis)).values();
    if (first) return first.model;
    if (!told) log.info('waiting for a GPU worker to register (start `dreamcord worker` with the same QUEUE_URL)');
    told = true;
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
