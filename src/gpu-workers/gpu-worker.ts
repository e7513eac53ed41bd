import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { GeneratedImages, GenerationInputs, ModelGenerator } from '../generator/generator.js';
import type { Logger } from '../log.js';
import { encodePng } from '../pipeline/index.js';
import { classifyFailure } from '../queue/index.js';
import {
  CANCEL_CHANNEL,
  HEARTBEAT_MS,
  MAX_RESULT_BYTES,
  WORK_QUEUE,
  WORKERS_KEY,
  logOutages,
  redisOptions,
  wireFailure,
  workSchema,
  type Work,
  type WorkerInfo,
  type WorkResult,
} from './protocol.js';

export interface GpuWorkerOptions {
  /** `QUEUE_URL`: the Redis the bot hands jobs over. */
  readonly url: string;
  /** `WORKER_NAME`: how the bot and the logs name this worker. */
  readonly name: string;
  /** Jobs run at once (one per GPU slot). */
  readonly capacity: number;
  /**
   * How long a job's lease lasts without renewal: when a worker dies mid-job, another takes the job over once this
   * has passed (BullMQ's stalled-job check).
   */
  readonly leaseMs: number;
  /** The local pipeline, and the execution provider it runs on. */
  readonly generator: ModelGenerator;
  readonly provider: string;
  readonly log: Logger;
}

/**
 * A GPU worker (`dreamcord worker`): registers itself with its model and capacity, takes jobs from the bot's BullMQ
 * queue, runs them on its local pipeline and answers with the pictures or the failure as data. It never sees the
 * Discord token, and runs only what parses as a request.
 */
export class GpuWorker {
  readonly #options: GpuWorkerOptions;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #worker: Worker<unknown, WorkResult>;
  readonly #heartbeat: NodeJS.Timeout;
  /** Running jobs by id, to stop one the bot cancels. */
  readonly #running = new Map<string, AbortController>();

  private constructor(options: GpuWorkerOptions, redis: Redis, subscriber: Redis) {
    this.#options = options;
    this.#redis = redis;
    this.#subscriber = subscriber;
    this.#subscriber.on('message', (_channel: string, jobId: string) => this.#running.get(jobId)?.abort(new DOMException('The job was cancelled.', 'AbortError')));
    this.#worker = new Worker<unknown, WorkResult>(WORK_QUEUE, (job) => this.#run(job), {
      connection: redisOptions(options.url),
      concurrency: options.capacity,
      lockDuration: options.leaseMs,
      stalledInterval: options.leaseMs,
      maxStalledCount: 2,
    });
    this.#worker.on('error', (error) => options.log.warn({ err: error, worker: options.name }, 'GPU worker: Redis error (reconnecting)'));
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
    await worker.#worker.waitUntilReady();
    options.log.info({ worker: options.name, capacity: options.capacity, model: options.generator.modelName }, 'GPU worker ready');
    return worker;
  }

  /** Stops taking jobs, lets the running ones finish, and leaves the registry. */
  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    await this.#worker.close();
    await this.#redis.hdel(WORKERS_KEY, this.#options.name);
    this.#subscriber.disconnect();
    this.#redis.disconnect();
  }

  async #register(): Promise<void> {
    const { name, capacity, provider, generator } = this.#options;
    const { modelName, family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig } = generator;
    const info: WorkerInfo = {
      name,
      capacity,
      provider,
      model: { modelName, family, nativeSize, sizeBuckets: [...sizeBuckets], maxClipSkip, schedulerConfig },
      running: [...this.#running.keys()],
      seenAt: Date.now(),
    };
    await this.#redis.hset(WORKERS_KEY, name, JSON.stringify(info)).catch(() => undefined); // retried at the next beat
  }

  async #run(job: Job<unknown, WorkResult>): Promise<WorkResult> {
    const jobId = job.id ?? '';
    const log = this.#options.log.child({ jobId, worker: this.#options.name });
    const work = workSchema.safeParse(job.data);
    if (!work.success) {
      log.warn({ issue: work.error.issues[0]?.message }, 'refused a job that is not a valid request');
      return { ok: false, failure: { code: 'INVALID_REQUEST', transient: false, details: { field: String(work.error.issues[0]?.path.join('.') || 'request') } } };
    }
    const controller = new AbortController();
    this.#running.set(jobId, controller);
    void this.#register(); // `/queue` shows the job on this worker now, not at the next heartbeat
    log.info('job started');
    try {
      const images = await this.#options.generator.generate(work.data.request, {
        signal: controller.signal,
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
    } finally {
      this.#running.delete(jobId);
      void this.#register();
    }
  }
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
