import { EventEmitter } from 'node:events';
import { FailureError, type JobFailure } from '../failure.js';
import type { Logger } from '../log.js';
import { servedModel, type BatchGeneration, type GenerateOptions, type GeneratedImages, type ImageGenerator, type ModelGenerator, type ServedModel } from './generator.js';
import type { PipelineHealth, PipelineHealthSource } from './pipeline-health.js';
import type { GenerationRequest } from './request.js';

/** A loaded model the pool can release (`SupervisedGenerator`). */
export interface PooledGenerator extends ModelGenerator, PipelineHealthSource {
  close(): Promise<void>;
}

/** One model of the pool: how it is offered, and how to load it. */
export interface PoolEntry {
  /** How members see it, with its facts as described before loading. */
  readonly model: ServedModel;
  /** Bytes it takes loaded, estimated before loading it: its source's size on disk. */
  readonly bytes: () => number;
  /** Its source's identity now (size and modification time): a broken model is tried again once this changes. */
  readonly identity: () => string;
  /**
   * Loads it, converting a checkpoint first when it never was; rejects with a `FailureError` `MODEL_BROKEN`
   * (`details.reason`) when the model itself cannot be used.
   */
  readonly load: () => Promise<PooledGenerator>;
  /** Loaded already (the `MODEL_DIR` model is loaded at start). */
  readonly loaded?: PooledGenerator | undefined;
}

export interface ModelPoolOptions {
  /** What the loaded models may take together (`MODEL_MEMORY_GB`). */
  readonly budgetBytes: number;
  /** The health shown while no model is loaded yet (the configured provider, ready). */
  readonly idleHealth: PipelineHealth;
  readonly log: Logger;
}

interface Slot {
  readonly entry: PoolEntry;
  loaded: PooledGenerator | undefined;
  /** What the loaded model was counted as against the budget. */
  bytes: number;
  loading: Promise<PooledGenerator> | undefined;
  /** Jobs on it now: a model with jobs is never released under them. */
  running: number;
  /** When it was last asked for (a tick of the pool's clock): the least recently used is released first. */
  usedAt: number;
  /** Why it failed to load, and the identity of its source then. */
  broken: { readonly identity: string; readonly failure: JobFailure } | undefined;
}

/**
 * The bot's models on this machine: each loads on first use (converted first if it never was) and stays loaded
 * while the loaded ones fit the memory budget; to make room, the least recently used model without a job is
 * released. A model that fails to load is broken — its jobs fail at once with the reason — until its file changes.
 * Switching between loaded models costs nothing: each has its own pipeline (and thread).
 */
export class ModelPool extends EventEmitter<{ health: [PipelineHealth] }> implements ImageGenerator, PipelineHealthSource {
  readonly #slots: readonly Slot[];
  readonly #options: ModelPoolOptions;
  #clock = 0;
  #health: PipelineHealth;

  constructor(entries: readonly PoolEntry[], options: ModelPoolOptions) {
    super();
    this.#options = options;
    // The model loaded at start (`MODEL_DIR`'s) says where the models run; until one loads, the configured provider.
    this.#health = entries.find((entry) => entry.loaded)?.loaded?.health ?? options.idleHealth;
    this.#slots = entries.map((entry) => ({
      entry,
      loaded: undefined,
      bytes: 0,
      loading: undefined,
      running: 0,
      usedAt: 0,
      broken: undefined,
    }));
    for (const slot of this.#slots) if (slot.entry.loaded) this.#loaded(slot, slot.entry.loaded, slot.entry.bytes());
  }

  /** The models, the default first; a loaded model with the facts its pipeline reported, a broken one saying why. */
  get models(): readonly ServedModel[] {
    return this.#slots.map(({ entry, loaded, broken }) => {
      const facts = loaded && {
        nativeSize: loaded.nativeSize,
        sizeBuckets: loaded.sizeBuckets,
        maxClipSkip: loaded.maxClipSkip,
        family: loaded.family,
        schedulerConfig: loaded.schedulerConfig,
      };
      const reason = broken && broken.identity === entry.identity() ? String(broken.failure.details['reason'] ?? '') : undefined;
      return { ...entry.model, ...facts, ...(reason === undefined ? {} : { broken: reason }) };
    });
  }

  /** The health of the model used last (what the bot's presence shows). */
  get health(): PipelineHealth {
    return this.#health;
  }

  /** The names of the models loaded now, least recently used first. */
  get loadedModels(): readonly string[] {
    return this.#slots
      .filter((slot) => slot.loaded)
      .sort((a, b) => a.usedAt - b.usedAt)
      .map((slot) => slot.entry.model.name);
  }

  /**
   * Runs `request` on its model, loading the model first when it is not loaded (`options.onPreparing` is called).
   * @throws FailureError `INVALID_REQUEST` (field `model`) for a model the pool does not have, `MODEL_BROKEN` for
   *   one that cannot load; the model's own failures otherwise.
   */
  async generate(request: GenerationRequest, options: GenerateOptions): Promise<GeneratedImages> {
    const [result] = this.#onModel([{ request, options }], (generator) => [generator.generate(request, options)]);
    return result ?? Promise.reject(new Error('ModelPool: the job did not run'));
  }

  /** Runs jobs of one batch key (so of one model) as one batch on their model, loading it first when needed. */
  generateBatch(jobs: readonly BatchGeneration[], maxRows: number): Promise<GeneratedImages>[] {
    return this.#onModel(jobs, (generator) =>
      generator.generateBatch ? generator.generateBatch(jobs, maxRows) : jobs.map(({ request, options }) => generator.generate(request, options)),
    );
  }

  /** Starts `jobs` on the model the first one names (a model is never released under its jobs). */
  #onModel(jobs: readonly BatchGeneration[], start: (generator: PooledGenerator) => Promise<GeneratedImages>[]): Promise<GeneratedImages>[] {
    const model = servedModel(this.#slots.map((slot) => slot.entry.model), jobs[0]?.request.model);
    const slot = this.#slots.find((candidate) => candidate.entry.model === model);
    if (!slot) return jobs.map(() => Promise.reject(new FailureError('INVALID_REQUEST', { field: 'model' })));
    slot.running += jobs.length;
    slot.usedAt = ++this.#clock;
    const started = this.#ready(slot, () => jobs.forEach(({ options }) => options.onPreparing?.())).then((generator) => {
      this.#setHealth(generator.health);
      return start(generator);
    });
    return jobs.map(async (_, i) => {
      try {
        const runs = await started;
        return await (runs[i] ?? Promise.reject(new Error('ModelPool: the model returned fewer results than jobs')));
      } finally {
        slot.running--;
      }
    });
  }

  /** Releases every model. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#slots.flatMap((slot) => (slot.loading ? [slot.loading] : [])));
    await Promise.all(this.#slots.map((slot) => this.#release(slot)));
  }

  #ready(slot: Slot, onPreparing: () => void): Promise<PooledGenerator> {
    if (slot.loaded) return Promise.resolve(slot.loaded);
    const { broken } = slot;
    if (broken && broken.identity === slot.entry.identity()) {
      return Promise.reject(new FailureError(broken.failure.code, broken.failure.details));
    }
    onPreparing();
    slot.loading ??= this.#load(slot).finally(() => {
      slot.loading = undefined;
    });
    return slot.loading;
  }

  async #load(slot: Slot): Promise<PooledGenerator> {
    const { model } = slot.entry;
    const bytes = slot.entry.bytes();
    await this.#makeRoom(bytes);
    const identity = slot.entry.identity();
    const started = Date.now();
    let loaded: PooledGenerator;
    try {
      loaded = await slot.entry.load();
    } catch (error) {
      // A conversion's failure (a FailureError) or a model file's (a GeneratorError from the pipeline's thread).
      const failure = (error as { failure?: JobFailure } | undefined)?.failure;
      if (failure?.code !== 'MODEL_BROKEN') throw error;
      slot.broken = { identity, failure: { ...failure, details: { ...failure.details, model: model.name } } };
      this.#options.log.error({ model: model.name, reason: failure.details['reason'] }, 'model cannot be used until its file changes');
      throw new FailureError('MODEL_BROKEN', slot.broken.failure.details, { cause: error });
    }
    slot.broken = undefined;
    this.#loaded(slot, loaded, bytes);
    this.#options.log.info({ model: model.name, ms: Date.now() - started, loaded: this.loadedModels }, 'model loaded');
    return loaded;
  }

  #loaded(slot: Slot, generator: PooledGenerator, bytes: number): void {
    slot.loaded = generator;
    slot.bytes = bytes;
    generator.on('health', (health) => this.#setHealth(health));
  }

  /** Releases the least recently used models without jobs until `bytes` more fit the budget (or none is left). */
  async #makeRoom(bytes: number): Promise<void> {
    const idle = this.#slots.filter((slot) => slot.loaded && slot.running === 0).sort((a, b) => a.usedAt - b.usedAt);
    const inUse = () => this.#slots.reduce((sum, slot) => sum + (slot.loaded ? slot.bytes : 0), 0);
    for (const slot of idle) {
      if (inUse() + bytes <= this.#options.budgetBytes) return;
      this.#options.log.info({ model: slot.entry.model.name, bytes: slot.bytes, budgetBytes: this.#options.budgetBytes }, 'model released to make room');
      await this.#release(slot);
    }
    if (inUse() + bytes > this.#options.budgetBytes) {
      this.#options.log.warn({ inUse: inUse(), bytes, budgetBytes: this.#options.budgetBytes }, 'loading a model over MODEL_MEMORY_GB: the models loaded have jobs');
    }
  }

  async #release(slot: Slot): Promise<void> {
    const { loaded } = slot;
    slot.loaded = undefined;
    await loaded?.close();
  }

  #setHealth(health: PipelineHealth): void {
    if (JSON.stringify(health) === JSON.stringify(this.#health)) return;
    this.#health = health;
    this.emit('health', health);
  }
}
