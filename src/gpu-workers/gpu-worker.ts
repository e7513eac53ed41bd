import { WaitingError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { GeneratedImages, GenerationInputs, ImageGenerator, ServedModel } from '../generator/generator.js';
import type { Logger } from '../log.js';
import type { PipelineHealthSource } from '../generator/pipeline-health.js';
import { encodePng } from '../pipeline/index.js';
import { classifyFailure } from '../queue/index.js';
import {
  CANCEL_CHANNEL,
  HEARTBEAT_MS,
  MAX_RESULT_BYTES,
  WORKERS_KEY,
  workQueueOf,
  logOutages,
  redisOptions,
  wireFailure,
  workSchema,
  type ModelInfo,
  type Work,
  type WorkerInfo,
  type WorkResult,
} from './protocol.js';

export interface GpuWorkerOptions {
  /** `QUEUE_URL`: the Redis the bot hands jobs over. */
  readonly url: string;
  /** `WORKER_NAME`: how the bot and the logs name this worker. */
  readonly name: string;
  /** Jobs run at once (one per GPU slot), over all its models. */
  readonly capacity: number;
  /**
   * How long a job's lease lasts without renewal: when a worker dies mid-job, another takes the job over once this
   * has passed (BullMQ's stalled-job check).
   */
  readonly leaseMs: number;
  /** The models on this machine (`MODEL_DIR` and `MODELS_DIR`, loaded on first use), and the provider they run on. */
  readonly generator: ImageGenerator & PipelineHealthSource;
  readonly log: Logger;
}

/**
 * A GPU worker (`dreamcord worker`): registers itself with its models and capacity, takes jobs from the BullMQ queue
 * of each model it has (one `Worker` per model), runs them on its local pipeline and answers with the pictures or the
 * failure as data. It never sees the Discord token, and runs only what parses as a request.
 *
 * Its capacity is shared by its models' queues: once every slot is taken it stops taking jobs from all of them (so a
 * free worker with the model takes the next one), and a job one of them took at the same moment is given back to the
 * front of its queue rather than kept waiting here.
 */
export class GpuWorker {
  readonly #options: GpuWorkerOptions;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  /** One BullMQ worker per model queue. */
  readonly #workers: readonly Worker<unknown, WorkResult>[];
  readonly #heartbeat: NodeJS.Timeout;
  /** Running jobs by id, to stop one the bot cancels. */
  readonly #running = new Map<string, AbortController>();
  /** Pauses and resumes of the model queues' workers, one after the other. */
  #gate: Promise<void> = Promise.resolve();
  /** Set by `close`: the worker no longer registers (a heartbeat in flight or a freed slot would bring it back). */
  #closing = false;

  private constructor(options: GpuWorkerOptions, redis: Redis, subscriber: Redis) {
    this.#options = options;
    this.#redis = redis;
    this.#subscriber = subscriber;
    this.#subscriber.on('message', (_channel: string, jobId: string) => this.#running.get(jobId)?.abort(new DOMException('The job was cancelled.', 'AbortError')));
    this.#workers = options.generator.models.map((model) => {
      const worker = new Worker<unknown, WorkResult>(workQueueOf(model.name), (job, token) => this.#take(job, token), {
        connection: redisOptions(options.url),
        concurrency: options.capacity,
        lockDuration: options.leaseMs,
        stalledInterval: options.leaseMs,
        maxStalledCount: 2,
      });
      worker.on('error', (error) => options.log.warn({ err: error, worker: options.name, model: model.name }, 'GPU worker: Redis error (reconnecting)'));
      return worker;
    });
    this.#heartbeat = setInterval(() => void this.#register(), HEARTBEAT_MS);
  }

  static async start(options: GpuWorkerOptions): Promise<GpuWorker> {
    const redis = new Redis(redisOptions(options.url));
    const subscriber = redis.duplicate();
    logOutages(redis, options.log, options.name);
    logOutages(subscriber, options.log, `${options.name} cancels`);
    await subscriber.subscribe(CANCEL_CHANNEL);
    const worker = new GpuWorker(options, redis, subscriber);
    await worker.#register();
    await Promise.all(worker.#workers.map((modelWorker) => modelWorker.waitUntilReady()));
    const models = options.generator.models.map((model) => model.name);
    options.log.info({ worker: options.name, capacity: options.capacity, models }, 'GPU worker ready');
    return worker;
  }

  /**
   * Leaves the registry, then stops taking jobs and lets the running ones finish. Leaving first: a slot that frees
   * while the worker closes must not be offered to the bot, which would hand over a job no one then takes.
   */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#heartbeat);
    await this.#redis.hdel(WORKERS_KEY, this.#options.name);
    await Promise.all(this.#workers.map((worker) => worker.close()));
    this.#subscriber.disconnect();
    this.#redis.disconnect();
  }

  async #register(): Promise<void> {
    if (this.#closing) return;
    const { name, capacity, generator } = this.#options;
    const info: WorkerInfo = {
      name,
      capacity,
      provider: generator.health.provider,
      models: generator.models.map(modelInfoOf),
      running: [...this.#running.keys()],
      seenAt: Date.now(),
    };
    await this.#redis.hset(WORKERS_KEY, name, JSON.stringify(info)).catch(() => undefined); // retried at the next beat
  }

  /**
   * Runs a job one of the model queues handed over, in a free slot; with none free (another model's queue took a
   * job in the same moment) gives it back to the front of its queue, for this worker's next free slot or another's.
   */
  async #take(job: Job<unknown, WorkResult>, token: string | undefined): Promise<WorkResult> {
    if (this.#running.size >= this.#options.capacity) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const controller = new AbortController();
    this.#running.set(job.id ?? '', controller);
    if (this.#running.size >= this.#options.capacity) this.#setTaking(false);
    try {
      return await this.#run(job, controller.signal);
    } finally {
      this.#running.delete(job.id ?? '');
      this.#setTaking(true);
      void this.#register();
    }
  }

  /** Stops (or starts again) taking jobs from every model queue: this worker's slots are all taken (or one freed). */
  #setTaking(taking: boolean): void {
    this.#gate = this.#gate.then(() =>
      Promise.all(this.#workers.map((worker) => (taking ? worker.resume() : worker.pause(true)))).then(() => undefined),
    );
  }

  async #run(job: Job<unknown, WorkResult>, signal: AbortSignal): Promise<WorkResult> {
    const jobId = job.id ?? '';
    const log = this.#options.log.child({ jobId, worker: this.#options.name });
    const work = workSchema.safeParse(job.data);
    if (!work.success) {
      log.warn({ issue: work.error.issues[0]?.message }, 'refused a job that is not a valid request');
      return { ok: false, failure: { code: 'INVALID_REQUEST', transient: false, details: { field: String(work.error.issues[0]?.path.join('.') || 'request') } } };
    }
    void this.#register(); // `/queue` shows the job on this worker now, not at the next heartbeat
    log.info({ model: work.data.request.model }, 'job started');
    try {
      const images = await this.#options.generator.generate(work.data.request, {
        signal,
        onProgress: (step, total) => void job.updateProgress({ step, total }).catch(() => undefined),
        inputs: inputsOf(work.data),
        jobId,
      });
      const result = await encodeResult(images);
      log.info({ durationMs: images.durationMs }, 'job done');
      return result;
    } catch (error) {
      const failure = wireFailure(classifyFailure(error));
      log.warn({ failure }, 'job failed');
      return { ok: false, failure };
    }
  }
}

/** A served model as the registry carries it: how the bot offers it and builds requests for it. */
function modelInfoOf(model: ServedModel): ModelInfo {
  const { name, displayName, description, defaults, family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig } = model;
  return {
    name,
    displayName,
    ...(description === undefined ? {} : { description }),
    ...(defaults === undefined ? {} : { defaults: Object.fromEntries(Object.entries(defaults).filter(([, value]) => value !== undefined)) }),
    family,
    nativeSize,
    sizeBuckets: [...sizeBuckets],
    maxClipSkip,
    schedulerConfig,
  };
}

function inputsOf(work: Work): GenerationInputs {
  const { image, mask } = work.inputs;
  return {
    ...(image === undefined ? {} : { image: Buffer.from(image, 'base64') }),
    ...(mask === undefined ? {} : { mask: Buffer.from(mask, 'base64') }),
  };
}

/** The pictures as PNG, for transport: the bot decodes them and writes the final PNG with its infotext. */
async function encodeResult(images: GeneratedImages): Promise<WorkResult> {
  const encoded = await Promise.all(
    images.images.map(async ({ image, seed, parameters }) => {
      const png = Buffer.from(await encodePng(image));
      return { png, seed, parameters };
    }),
  );
  const bytes = encoded.reduce((sum, { png }) => sum + png.length, 0);
  if (bytes > MAX_RESULT_BYTES) {
    return { ok: false, failure: { code: 'FAILED', transient: false, details: { reason: `the result is ${bytes} bytes, over the ${MAX_RESULT_BYTES} a worker may send` } } };
  }
  return {
    ok: true,
    images: encoded.map(({ png, seed, parameters }) => ({ png: png.toString('base64'), seed, parameters })),
    warnings: [...images.warnings],
    model: images.model,
    durationMs: images.durationMs,
  };
}
