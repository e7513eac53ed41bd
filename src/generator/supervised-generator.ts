import { EventEmitter } from 'node:events';
import { FailureError } from '../failure.js';
import type { Logger } from '../log.js';
import type { ExecutionProviderChoice, FamilyFacts, ModelFamily, SchedulerConfig } from '../pipeline/index.js';
import type { BatchGeneration, GenerateOptions, GeneratedImages, ModelGenerator } from './generator.js';
import {
  FAILURES_BEFORE_RELOAD,
  onProvider,
  pipelineFault,
  reloadProvider,
  type PipelineFault,
  type PipelineHealth,
} from './pipeline-health.js';
import type { GenerationRequest } from './request.js';

/** A loaded pipeline that the supervisor can replace (`WorkerGenerator`). */
export interface LoadedGenerator extends ModelGenerator {
  /** Which execution provider each model component runs on. */
  readonly providers: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export interface SupervisorOptions {
  /** The configured execution provider (`EXECUTION_PROVIDER`). */
  readonly provider: ExecutionProviderChoice;
  /** Loads a fresh pipeline on `provider`; rejects with the loading error. */
  readonly load: (provider: ExecutionProviderChoice) => Promise<LoadedGenerator>;
  readonly log: Logger;
}

/** Pauses between attempts to load the pipeline while it is down: 2 s, doubling up to 5 min. */
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 300_000;

/**
 * The image generator as the jobs see it: a loaded pipeline, watched. A job that fails inside the pipeline (an
 * ONNX Runtime error, out of memory, the pipeline's thread dying) fails with a message a member can read, and
 * the bot goes on. After {@link FAILURES_BEFORE_RELOAD} such failures in a row the pipeline is loaded afresh —
 * on the CPU when `auto` had picked a GPU provider — and while it cannot be loaded, jobs fail at once and
 * loading is retried in the background. Every change of {@link PipelineHealth} is emitted as 'health'.
 */
export class SupervisedGenerator extends EventEmitter<{ health: [PipelineHealth] }> implements ModelGenerator {
  readonly modelName: string;
  readonly nativeSize: number;
  readonly sizeBuckets: FamilyFacts['sizeBuckets'];
  readonly maxClipSkip: number;
  readonly family: ModelFamily;
  readonly schedulerConfig: SchedulerConfig;
  readonly #options: SupervisorOptions;
  #current: LoadedGenerator | undefined;
  /** The provider the pipeline is loaded on next: the configured one, or the CPU after a fallback. */
  #provider: ExecutionProviderChoice;
  #health: PipelineHealth;
  #reloading: Promise<void> | undefined;
  /** Generations running on the current pipeline, which a reload lets finish before closing it. */
  readonly #running = new Set<Promise<unknown>>();
  #retry: { timer?: NodeJS.Timeout | undefined; waitMs: number } = { waitMs: RETRY_FIRST_MS };
  #closed = false;

  private constructor(first: LoadedGenerator, options: SupervisorOptions) {
    super();
    this.modelName = first.modelName;
    this.nativeSize = first.nativeSize;
    this.sizeBuckets = first.sizeBuckets;
    this.maxClipSkip = first.maxClipSkip;
    this.family = first.family;
    this.schedulerConfig = first.schedulerConfig;
    this.#options = options;
    this.#current = first;
    this.#provider = options.provider;
    this.#health = { state: 'ready', provider: unetProvider(first), fallback: false, failures: 0 };
  }

  /** Loads the pipeline on the configured provider; rejects with the loading error (the bot cannot start). */
  static async start(options: SupervisorOptions): Promise<SupervisedGenerator> {
    return new SupervisedGenerator(await options.load(options.provider), options);
  }

  get health(): PipelineHealth {
    return this.#health;
  }

  /** Which execution provider each model component runs on now (empty while the pipeline is not loaded). */
  get providers(): Readonly<Record<string, string>> {
    return this.#current?.providers ?? {};
  }

  async generate(request: GenerationRequest, options: GenerateOptions): Promise<GeneratedImages> {
    const generator = await this.#ready();
    return this.#watch(generator, request, options, generator.generate(request, options));
  }

  /** Runs the jobs as one batch on the loaded pipeline; each job's failure counts as `generate`'s would. */
  generateBatch(jobs: readonly BatchGeneration[], maxRows: number): Promise<GeneratedImages>[] {
    const started = this.#ready().then((generator) => ({
      generator,
      runs: generator.generateBatch ? generator.generateBatch(jobs, maxRows) : jobs.map(({ request, options }) => generator.generate(request, options)),
    }));
    return jobs.map(async ({ request, options }, i) => {
      const { generator, runs } = await started;
      return this.#watch(generator, request, options, runs[i] ?? Promise.reject(new Error('the pipeline returned fewer results than jobs')));
    });
  }

  /** The loaded pipeline, once a reload under way has ended. */
  async #ready(): Promise<LoadedGenerator> {
    if (this.#reloading) await this.#reloading;
    const generator = this.#current;
    if (!generator) throw new FailureError('PIPELINE_UNAVAILABLE');
    return generator;
  }

  /** A generation's result; a failure inside the pipeline counts towards a reload and says which provider failed. */
  async #watch(generator: LoadedGenerator, request: GenerationRequest, options: GenerateOptions, run: Promise<GeneratedImages>): Promise<GeneratedImages> {
    this.#running.add(run);
    try {
      const images = await run;
      if (generator === this.#current && this.#health.failures > 0) this.#setHealth({ state: 'ready', failures: 0 });
      return images;
    } catch (error) {
      const fault = options.signal.aborted ? undefined : pipelineFault(error);
      if (fault === undefined || !(error instanceof Error)) throw error;
      this.#failed(generator, fault, error, request);
      throw onProvider(error, unetProvider(generator));
    } finally {
      this.#running.delete(run);
    }
  }

  /** Stops the pipeline and any retry; generations still running fail. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry.timer);
    await this.#reloading;
    await this.#current?.close();
    this.#current = undefined;
  }

  #failed(generator: LoadedGenerator, fault: PipelineFault, error: Error, request: GenerationRequest): void {
    const { kind, width, height, steps, count } = request;
    this.#options.log.error({ err: error, fault, kind, width, height, steps, count }, 'a job failed in the image pipeline');
    if (generator !== this.#current) return; // a pipeline already replaced
    const failures = this.#health.failures + 1;
    this.#setHealth({ state: 'degraded', failures });
    if (failures >= FAILURES_BEFORE_RELOAD) this.#startReload(`${failures} pipeline failures in a row`);
  }

  #startReload(reason: string): void {
    if (this.#reloading || this.#closed) return;
    this.#reloading = this.#reload(reason).finally(() => {
      this.#reloading = undefined;
    });
  }

  /** Replaces the pipeline: lets running generations end, closes it, loads a fresh one. */
  async #reload(reason: string): Promise<void> {
    const old = this.#current;
    if (old) this.#provider = reloadProvider(this.#provider, old.providers);
    this.#options.log.warn({ reason, provider: this.#provider }, 'reloading the image pipeline');
    this.#setHealth({ state: 'reloading', provider: this.#provider });
    this.#current = undefined;
    if (old) {
      await Promise.allSettled(this.#running);
      await old.close().catch((error: unknown) => this.#options.log.warn({ err: error }, 'the old image pipeline did not close cleanly'));
    }
    try {
      const fresh = await this.#options.load(this.#provider);
      if (this.#closed) {
        await fresh.close();
        return;
      }
      this.#current = fresh;
      this.#retry.waitMs = RETRY_FIRST_MS;
      const fallback = this.#provider !== this.#options.provider;
      this.#setHealth({ state: 'ready', provider: unetProvider(fresh), fallback, failures: 0 });
      this.#options.log.info({ providers: fresh.providers, fallback }, 'image pipeline reloaded');
    } catch (error) {
      this.#setHealth({ state: 'down' });
      this.#options.log.error({ err: error, retryInMs: this.#retry.waitMs }, 'the image pipeline could not be loaded');
      this.#scheduleRetry();
    }
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    const waitMs = this.#retry.waitMs;
    this.#retry.waitMs = Math.min(RETRY_MAX_MS, waitMs * 2);
    this.#retry.timer = setTimeout(() => this.#startReload('retrying after a failed load'), waitMs);
    this.#retry.timer.unref();
  }

  #setHealth(change: Partial<PipelineHealth>): void {
    const next = { ...this.#health, ...change };
    if (JSON.stringify(next) === JSON.stringify(this.#health)) return;
    this.#health = next;
    this.emit('health', next);
  }
}

/** The provider that matters most for speed and memory: the UNet's. */
function unetProvider(generator: LoadedGenerator): string {
  return generator.providers['unet'] ?? Object.values(generator.providers)[0] ?? 'unknown';
}
