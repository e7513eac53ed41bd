import { WaitingError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { ZodError } from 'zod';
import type { BatchGeneration, GeneratedImages, GenerateOptions, GenerationInputs, ImageGenerator, ServedModel } from '../generator/generator.js';
import type { Logger } from '../log.js';
import type { PipelineHealthSource } from '../generator/pipeline-health.js';
import { encodePng } from '../pipeline/index.js';
import { classifyFailure } from '../queue/index.js';
import {
  CANCEL_CHANNEL,
  HEARTBEAT_MS,
  MAX_RESULT_BYTES,
  WORKERS_KEY,
  cancelledKeyOf,
  handoverSchema,
  workQueueOf,
  logOutages,
  redisOptions,
  wireFailure,
  workSchema,
  type HandoverResult,
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
  /** Handovers run at once (one per GPU slot, each a batch of one or more jobs), over all its models. */
  readonly capacity: number;
  /**
   * `BATCH_MAX_ROWS` of the worker: UNet rows it runs as one batch, advertised so the bot fills a handover up to it;
   * below 2 it runs a handover's jobs one after the other.
   */
  readonly batchMaxRows: number;
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
 * A GPU worker (`dreamcord worker`): registers itself with its models, capacity and batch room, takes handovers from
 * the BullMQ queue of each model it has (one `Worker` per model), runs each handover's jobs as one batch on its local
 * pipeline and answers each job with its pictures or its failure as data. It never sees the Discord token, and runs
 * only what parses as a request.
 *
 * The bot forms the batches, not the worker: the fair order and the batch key live in the bot's queue, BullMQ cannot
 * take chosen jobs out of a queue, and one BullMQ job per batch gives the batch one lease, so a worker that dies
 * mid-batch hands the whole batch to the next worker exactly as a single job is handed over.
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
  readonly #workers: readonly Worker<unknown, HandoverResult>[];
  readonly #heartbeat: NodeJS.Timeout;
  /** Running jobs by id (each of a batch), to stop one the bot cancels. */
  readonly #running = new Map<string, AbortController>();
  /** Slots taken: handovers running, each a batch of one or more jobs. */
  #slotsTaken = 0;
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
      const worker = new Worker<unknown, HandoverResult>(workQueueOf(model.name), (job, token) => this.#take(job, token), {
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
    options.log.info({ worker: options.name, capacity: options.capacity, batchMaxRows: options.batchMaxRows, models }, 'GPU worker ready');
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
    const { name, capacity, batchMaxRows, generator } = this.#options;
    const info: WorkerInfo = {
      name,
      capacity,
      batchMaxRows,
      provider: generator.health.provider,
      models: generator.models.map(modelInfoOf),
      running: [...this.#running.keys()],
      seenAt: Date.now(),
    };
    await this.#redis.hset(WORKERS_KEY, name, JSON.stringify(info)).catch(() => undefined); // retried at the next beat
  }

  /**
   * Runs a handover one of the model queues gave, in a free slot (a batch takes one, as on the bot's own GPU); with
   * none free (another model's queue took one in the same moment) gives it back to the front of its queue, for this
   * worker's next free slot or another's.
   */
  async #take(job: Job<unknown, HandoverResult>, token: string | undefined): Promise<HandoverResult> {
    if (this.#slotsTaken >= this.#options.capacity) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    this.#slotsTaken += 1;
    if (this.#slotsTaken >= this.#options.capacity) this.#setTaking(false);
    try {
      return await this.#runHandover(job);
    } finally {
      this.#slotsTaken -= 1;
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

  /**
   * Runs a handover's jobs together and answers each by its id. A handover that does not parse (another version's,
   * or not the bot's) fails as data, whole; a job in it that does not parse fails alone.
   */
  async #runHandover(job: Job<unknown, HandoverResult>): Promise<HandoverResult> {
    const handover = handoverSchema.safeParse(job.data);
    if (!handover.success) {
      this.#options.log.warn({ handover: job.id, worker: this.#options.name, issue: handover.error.issues[0]?.message }, 'refused a handover it does not understand');
      return invalidRequest(handover.error, 'handover');
    }
    const members = handover.data.jobs.map(({ jobId, work }) => ({
      jobId,
      work: workSchema.safeParse(work),
      controller: new AbortController(),
      log: this.#options.log.child({ jobId, worker: this.#options.name }),
    }));
    for (const { jobId, controller } of members) this.#running.set(jobId, controller);
    try {
      await this.#skipCancelled(members);
      void this.#register(); // `/queue` shows the jobs on this worker now, not at the next heartbeat
      const runnable = members.flatMap(({ jobId, work, controller: { signal }, log }) => (work.success && !signal.aborted ? [{ jobId, work: work.data, signal, log }] : []));
      const runs = this.#generate(job, runnable, handover.data.maxRows);
      const answers = members.map(async ({ jobId, work, controller: { signal }, log }) => {
        if (work.success) return [jobId, await answerOf(runs.get(jobId) ?? Promise.reject(signal.reason as Error), log)] as const;
        log.warn({ issue: work.error.issues[0]?.message }, 'refused a job that is not a valid request');
        return [jobId, invalidRequest(work.error, 'request')] as const;
      });
      return { jobs: Object.fromEntries(await Promise.all(answers)) };
    } finally {
      for (const { jobId } of members) this.#running.delete(jobId);
    }
  }

  /** Stops at once the jobs cancelled while their handover waited in BullMQ (their cancel was published before). */
  async #skipCancelled(members: readonly { readonly jobId: string; readonly controller: AbortController }[]): Promise<void> {
    const marks = await this.#redis.mget(members.map(({ jobId }) => cancelledKeyOf(jobId))).catch(() => []);
    members.forEach(({ controller }, index) => {
      if (marks[index] != null) controller.abort(new DOMException('The job was cancelled.', 'AbortError'));
    });
  }

  /**
   * Starts the jobs on the generator: as one batch of at most `maxRows` rows per model run (the bot's limit, or this
   * worker's `batchMaxRows` when smaller), or one after the other where this worker does not batch.
   * @returns each job's run, by id.
   */
  #generate(
    job: Job<unknown, HandoverResult>,
    members: readonly { readonly jobId: string; readonly work: Work; readonly signal: AbortSignal; readonly log: Logger }[],
    maxRows: number,
  ): Map<string, Promise<GeneratedImages>> {
    const { generator } = this.#options;
    const jobs = members.map(({ jobId, work, signal, log }) => {
      log.info({ model: work.request.model, batch: members.length }, 'job started');
      const options: GenerateOptions = {
        signal,
        onProgress: (step, total) => void job.updateProgress({ jobId, step, total }).catch(() => undefined),
        inputs: inputsOf(work),
        jobId,
      };
      return { request: work.request, options };
    });
    const rows = Math.min(maxRows, this.#options.batchMaxRows);
    const runs = rows >= 2 && jobs.length > 1 && generator.generateBatch ? generator.generateBatch(jobs, rows) : oneAfterAnother(generator, jobs);
    return new Map(members.map(({ jobId }, index) => [jobId, runs[index] ?? Promise.reject(new Error(`job ${jobId} did not run`))]));
  }
}

/** Runs `jobs` on `generator` one at a time, in order (a job that fails does not stop the next). */
function oneAfterAnother(generator: ImageGenerator, jobs: readonly BatchGeneration[]): Promise<GeneratedImages>[] {
  let previous: Promise<unknown> = Promise.resolve();
  return jobs.map(({ request, options }) => {
    const run = previous.catch(() => undefined).then(() => generator.generate(request, options));
    previous = run;
    return run;
  });
}

/** A job's answer: its pictures, or its failure as data; logged under its id. */
async function answerOf(run: Promise<GeneratedImages>, log: Logger): Promise<WorkResult> {
  try {
    const images = await run;
    const result = await encodeResult(images);
    log.info({ durationMs: images.durationMs }, 'job done');
    return result;
  } catch (error) {
    const failure = wireFailure(classifyFailure(error));
    log.warn({ failure }, 'job failed');
    return { ok: false, failure };
  }
}

/** The answer to what does not parse (a handover, or a job's work), naming the first field at fault, else `what`. */
function invalidRequest(error: ZodError, what: string): Extract<WorkResult, { ok: false }> {
  return { ok: false, failure: { code: 'INVALID_REQUEST', transient: false, details: { field: error.issues[0]?.path.join('.') || what } } };
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
