import type { Worker } from 'node:worker_threads';
import type { FamilyFacts, LogLevel, ModelFamily, SchedulerConfig } from '../pipeline/index.js';
import type { BatchGeneration, GenerateOptions, GeneratedImages, ModelGenerator } from './generator.js';
import type { GenerationRequest } from './request.js';
import type { JobFailure } from '../failure.js';
import { startWorker } from '../worker-thread.js';
import { pipelineStopped, type FromWorker, type SerializedError, type ToWorker, type WorkerJob, type WorkerOptions } from './worker-protocol.js';

/** A failure of the generator, as it came across the thread boundary: its failure, and its text for the log. */
export class GeneratorError extends Error {
  readonly failure: JobFailure;

  constructor(error: SerializedError) {
    super(error.message);
    this.name = error.name;
    this.failure = error.failure;
  }
}

interface Pending {
  readonly resolve: (result: GeneratedImages) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress: GenerateOptions['onProgress'];
}

/** How long a cancelled job may take to reach the end of its step before the worker is replaced. */
const ABORT_GRACE_MS = 30_000;

export type WorkerLog = (level: LogLevel, message: string, fields: Record<string, unknown>) => void;

/**
 * The image generator as the bot uses it: the Stable Diffusion pipeline on a worker thread, so model runs never
 * block the main thread. If the worker dies (a native crash, or it is stopped), its jobs fail as transient and the
 * next job starts a fresh worker, which loads the model again.
 */
export class WorkerGenerator implements ModelGenerator {
  readonly modelName: string;
  readonly nativeSize: number;
  readonly sizeBuckets: FamilyFacts['sizeBuckets'];
  readonly maxClipSkip: number;
  readonly family: ModelFamily;
  readonly schedulerConfig: SchedulerConfig;
  readonly providers: Readonly<Record<string, string>>;
  readonly #options: WorkerOptions;
  readonly #log: WorkerLog;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker;
  #nextId = 1;
  #closed = false;
  /** False between a worker's death and a successful restart: generations are refused at once meanwhile. */
  #alive = true;

  private constructor(worker: Worker, ready: Extract<FromWorker, { type: 'ready' }>, options: WorkerOptions, log: WorkerLog) {
    this.#worker = worker;
    this.modelName = ready.modelName;
    this.nativeSize = ready.nativeSize;
    this.sizeBuckets = ready.sizeBuckets;
    this.maxClipSkip = ready.maxClipSkip;
    this.family = ready.family;
    this.schedulerConfig = ready.schedulerConfig;
    this.providers = ready.providers;
    this.#options = options;
    this.#log = log;
    this.#attach(worker);
  }

  /** Starts the worker and waits until it has loaded the model; rejects with the loading error. */
  static async start(options: WorkerOptions, log: WorkerLog): Promise<WorkerGenerator> {
    const { worker, ready } = await spawn(options, log);
    return new WorkerGenerator(worker, ready, options, log);
  }

  async generate(request: GenerationRequest, options: GenerateOptions): Promise<GeneratedImages> {
    const [result] = this.#submit([{ request, options }], ([job]) => job && { type: 'generate', job });
    return result ?? Promise.reject(new Error('WorkerGenerator: the job was not sent'));
  }

  /** Sends the jobs to the worker as one batch; each has its own result, progress and cancel. */
  generateBatch(jobs: readonly BatchGeneration[], maxRows: number): Promise<GeneratedImages>[] {
    return this.#submit(jobs, (sent) => ({ type: 'generate-batch', jobs: sent, maxRows }));
  }

  /**
   * Sends the jobs not cancelled yet in one message (`toMessage`), while the worker is alive.
   * @returns each job's result, in order.
   */
  #submit(jobs: readonly BatchGeneration[], toMessage: (sent: readonly WorkerJob[]) => ToWorker | undefined): Promise<GeneratedImages>[] {
    const sent: WorkerJob[] = [];
    const results = jobs.map(({ request, options }) => {
      if (options.signal.aborted) return Promise.reject(options.signal.reason as Error);
      if (!this.#alive || this.#closed) return Promise.reject(new GeneratorError(pipelineStopped('The image pipeline is restarting.')));
      const id = this.#nextId++;
      sent.push({ id, request, inputs: options.inputs ?? {} });
      return this.#track(id, options);
    });
    const message = sent.length > 0 ? toMessage(sent) : undefined;
    if (message) this.#send(message);
    return results;
  }

  /** The result of job `id`, with its progress reported and its cancel sent to the worker. */
  async #track(id: number, options: GenerateOptions): Promise<GeneratedImages> {
    const result = new Promise<GeneratedImages>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress: options.onProgress });
    });
    let watchdog: NodeJS.Timeout | undefined;
    const abort = () => {
      this.#send({ type: 'abort', id, reason: String((options.signal.reason as Error | undefined)?.message ?? 'aborted') });
      // The pipeline stops between steps; a job stuck inside one native model call never gets there.
      watchdog = setTimeout(() => {
        this.#log('warn', 'a cancelled job did not stop; restarting the pipeline worker', { graceMs: ABORT_GRACE_MS });
        void this.restart().catch((error: unknown) => this.#log('error', 'the pipeline worker could not restart', { err: error }));
      }, ABORT_GRACE_MS);
    };
    options.signal.addEventListener('abort', abort, { once: true });
    try {
      return await result;
    } finally {
      clearTimeout(watchdog);
      options.signal.removeEventListener('abort', abort);
    }
  }

  /** Stops the worker; jobs still running fail. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll(pipelineStopped('The image pipeline was stopped.'));
    await this.#worker.terminate();
  }

  /**
   * Replaces the worker with a fresh one (after repeated failures, or when a job is stuck in a native call that
   * no signal can interrupt). Running jobs fail as transient.
   */
  async restart(): Promise<void> {
    const old = this.#worker;
    const { worker } = await spawn(this.#options, this.#log);
    this.#worker = worker;
    this.#attach(worker);
    this.#alive = true;
    // Jobs of the old worker will never hear from it again.
    this.#failAll(pipelineStopped('The image pipeline was restarted while this job ran.'));
    await old.terminate();
  }

  #send(message: ToWorker): void {
    this.#worker.postMessage(message);
  }

  #attach(worker: Worker): void {
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'log') return this.#log(message.level, message.message, message.fields);
      if (message.type !== 'progress' && message.type !== 'result' && message.type !== 'error') return;
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      if (message.type === 'progress') return pending.onProgress(message.step, message.total, message.preview);
      this.#pending.delete(message.id);
      if (message.type === 'result') pending.resolve(message.result);
      else pending.reject(new GeneratorError(message.error));
    });
    worker.on('error', (error) => this.#log('error', 'the pipeline worker failed', { err: error }));
    worker.on('exit', (code) => {
      if (worker !== this.#worker || this.#closed) return;
      this.#alive = false;
      this.#log('error', 'the pipeline worker stopped', { code });
      this.#failAll(pipelineStopped(`The image pipeline stopped (exit code ${code}); it is being restarted.`));
      void this.restart().catch((error: unknown) => this.#log('error', 'the pipeline worker could not restart', { err: error }));
    });
  }

  #failAll(error: SerializedError): void {
    for (const pending of this.#pending.values()) pending.reject(new GeneratorError(error));
    this.#pending.clear();
  }
}

/** Starts a worker and waits for its 'ready' (or 'failed') message. */
async function spawn(options: WorkerOptions, log: WorkerLog): Promise<{ worker: Worker; ready: Extract<FromWorker, { type: 'ready' }> }> {
  const worker = startWorker(new URL('./generator-worker.js', import.meta.url), options);
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker) => {
      if (message.type === 'log') return log(message.level, message.message, message.fields);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      if (message.type === 'ready') resolve({ worker, ready: message });
      else if (message.type === 'failed') {
        void worker.terminate();
        reject(new GeneratorError(message.error));
      }
    };
    const onExit = (code: number) => reject(new Error(`The image pipeline worker exited with code ${code} while loading the model.`));
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    worker.once('error', reject);
  });
}
