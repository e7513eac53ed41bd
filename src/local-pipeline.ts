import { isCheckpointError } from './checkpoint/index.js';
import { ConfigError, type EnvConfig } from './config/index.js';
import type { ExecutionProviderChoice, SchedulerConfig } from './pipeline/index.js';
import { isConvertError } from './convert/errors.js';
import type { GraphTarget } from './convert/graphs/image-layers.js';
import { prepareModelOffThread } from './convert/conversion-thread.js';
import { graphTargetFor } from './convert/model-cache.js';
import type { Logger } from './log.js';
import type { ModelFacts, ModelLabel } from './generator/generator.js';
import { basename } from 'node:path';
import { describeModel, readCatalog, schedulerOverridesOf } from './catalog/index.js';
import { sourceIdentity } from './convert/source-files.js';
import { FailureError } from './failure.js';
import { ModelPool, type PoolEntry } from './generator/model-pool.js';
import { SupervisedGenerator } from './generator/supervised-generator.js';
import { WorkerGenerator } from './generator/worker-generator.js';

/** The settings a pipeline on this machine needs, whether the bot's own or a GPU worker's. */
export type PipelineEnv = Pick<
  EnvConfig,
  'INPAINT_MODEL_DIR' | 'EMBEDDINGS_DIR' | 'LORA_DIR' | 'MODEL_CACHE_DIR' | 'MODEL_DTYPE' | 'EXECUTION_PROVIDER' | 'ONNX_NATIVE_BRIDGE' | 'ONNX_CUDA_GRAPHS'
>;

/** What the bot's models need besides: where they are, and the memory they may take together. */
export type PoolEnv = PipelineEnv & Pick<EnvConfig, 'MODEL_DIR' | 'MODELS_DIR' | 'MODEL_MEMORY_GB'>;

/**
 * Loads the pipeline on this machine for model `model` (converting a checkpoint once, in the form the provider
 * runs best: see `graphTargetFor`), supervised: reloaded after repeated faults, on the CPU when `auto` picked a GPU
 * that keeps failing. When `auto` chose the CUDA form and it does not load, the portable form is loaded instead.
 * `inpaintModel` (`INPAINT_MODEL_DIR`, for `MODEL_DIR`'s model) does the model's inpainting; `schedulerOverrides`
 * (a sidecar's prediction type and zero terminal SNR) are laid over the model's scheduler config.
 * @throws ConfigError when the model cannot be used (naming `MODEL_DIR`).
 */
export async function startLocalPipeline(
  model: string,
  env: PipelineEnv,
  log: Logger,
  inpaintModel: string | undefined = env.INPAINT_MODEL_DIR,
  schedulerOverrides: SchedulerConfig = {},
): Promise<SupervisedGenerator> {
  const folders = new Map<GraphTarget, Promise<ModelFolders>>();
  const foldersFor = (target: GraphTarget): Promise<ModelFolders> => {
    let known = folders.get(target);
    if (!known) {
      known = modelFolders(model, inpaintModel, env, target, log);
      folders.set(target, known);
    }
    return known;
  };
  const start = async (provider: ExecutionProviderChoice, target: GraphTarget): Promise<WorkerGenerator> => {
    const { main, inpaint } = await foldersFor(target);
    const modelLabels = Object.fromEntries([main, ...(inpaint ? [inpaint] : [])].map((m) => [m.dir, m.label]));
    return WorkerGenerator.start(
      {
        modelDir: main.dir,
        inpaintModelDir: inpaint?.dir,
        embeddingsDir: env.EMBEDDINGS_DIR,
        loraDir: env.LORA_DIR,
        provider,
        nativeBridge: env.ONNX_NATIVE_BRIDGE,
        cudaGraph: env.ONNX_CUDA_GRAPHS,
        modelLabels,
        schedulerOverrides,
      },
      (level, message, fields) => log[level](fields, message),
    );
  };
  // Converted before the first load, so that a bad model stops the start with its ConfigError.
  await foldersFor(graphTargetFor(env.EXECUTION_PROVIDER));
  const generator = await SupervisedGenerator.start({
    provider: env.EXECUTION_PROVIDER,
    load: (provider) =>
      loadInBestForm(provider, graphTargetFor(provider), (target) => start(provider, target), (reason) =>
        log.warn({ reason }, 'the CUDA form of the model did not load; using the portable form'),
      ),
    log,
  });
  log.info({ model: generator.modelName, providers: generator.providers }, 'pipeline loaded');
  return generator;
}

/**
 * The bot's models: `MODEL_DIR`'s (loaded now, as the default, with `INPAINT_MODEL_DIR`) and every model of
 * `MODELS_DIR` (described now from its headers, loaded on first use). A catalog entry that cannot be described, or
 * whose name `MODEL_DIR`'s model already has, is left out with a line in the log.
 * @throws ConfigError when `MODEL_DIR` cannot be used, or when there is no model at all.
 */
export async function startModelPool(env: PoolEnv, log: Logger): Promise<ModelPool> {
  const entries: PoolEntry[] = [];
  if (env.MODEL_DIR !== undefined) entries.push(await defaultEntry(env.MODEL_DIR, env, log));
  if (env.MODELS_DIR !== undefined) entries.push(...catalogEntries(env.MODELS_DIR, entries, env, log));
  if (entries.length === 0) throw new ConfigError(`MODELS_DIR ${env.MODELS_DIR ?? ''} holds no model that can be used (see the log)`);
  log.info({ models: entries.map((entry) => entry.model.name) }, 'models served');
  return new ModelPool(entries, {
    budgetBytes: env.MODEL_MEMORY_GB * GIB,
    idleHealth: { state: 'ready', provider: env.EXECUTION_PROVIDER, fallback: false, failures: 0 },
    log,
  });
}

const GIB = 1024 ** 3;

/** `MODEL_DIR`'s model, loaded at start: a model that cannot be used stops the start (a ConfigError). */
async function defaultEntry(source: string, env: PoolEnv, log: Logger): Promise<PoolEntry> {
  const started = Date.now();
  const loaded = await startLocalPipeline(source, env, log);
  const name = sourceName(source);
  log.info({ model: name, ms: Date.now() - started }, 'model loaded');
  return {
    model: { name, displayName: name, ...factsOf(loaded) },
    bytes: () => sourceIdentity(source).size,
    identity: () => identityOf(source),
    load: () => loadModel(source, name, env, log, env.INPAINT_MODEL_DIR),
    loaded,
  };
}

/** An inpainting model of `MODELS_DIR` does `/inpaint` for the model whose name it has with this after it (A1111's and Civitai's naming). */
const INPAINTING_SUFFIX = '-inpainting';

/**
 * The models of `MODELS_DIR` that can be offered besides `taken`. An inpainting model named `<model>-inpainting`
 * does that model's inpainting (as `INPAINT_MODEL_DIR` does `MODEL_DIR`'s); one without such a model is left out.
 */
function catalogEntries(dir: string, taken: readonly PoolEntry[], env: PoolEnv, log: Logger): PoolEntry[] {
  let catalog;
  try {
    catalog = readCatalog(dir);
  } catch (error) {
    throw new ConfigError(`MODELS_DIR ${dir} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  for (const problem of catalog.problems) log.warn({ modelsDir: dir }, problem);
  const usable = catalog.models.flatMap((model) => {
    if (taken.some((entry) => entry.model.name.toLowerCase() === model.name.toLowerCase())) {
      log.warn({ model: model.name }, 'a MODELS_DIR model has the name of MODEL_DIR\'s model; left out');
      return [];
    }
    try {
      return [{ model, facts: describeModel(model) }];
    } catch (error) {
      log.warn({ model: model.name, reason: (error as Error).message }, 'a MODELS_DIR model cannot be used; left out');
      return [];
    }
  });
  const inpainting = new Map(usable.filter(({ facts }) => facts.inpainting).map(({ model }) => [model.name.toLowerCase(), model]));
  const bases = new Set(usable.filter(({ facts }) => !facts.inpainting).map(({ model }) => model.name.toLowerCase()));
  const entries: PoolEntry[] = [];
  for (const { model, facts } of usable) {
    if (facts.inpainting) {
      const name = model.name.toLowerCase();
      if (!name.endsWith(INPAINTING_SUFFIX) || !bases.has(name.slice(0, -INPAINTING_SUFFIX.length))) {
        const reason = `an inpainting model does another model's /inpaint: name it <model>${INPAINTING_SUFFIX}`;
        log.warn({ model: model.name, reason }, 'a MODELS_DIR inpainting model has no model to inpaint for; left out');
      }
      continue;
    }
    const sibling = inpainting.get(`${model.name.toLowerCase()}${INPAINTING_SUFFIX}`);
    if (sibling) log.info({ model: model.name, inpainting: sibling.name }, 'a MODELS_DIR model inpaints with its inpainting model');
    // The pair is loaded, counted and marked broken together.
    const sources = sibling ? [model.path, sibling.path] : [model.path];
    const { sidecar } = model;
    entries.push({
      model: {
        name: model.name,
        displayName: sidecar?.displayName ?? model.name,
        description: sidecar?.description,
        defaults: sidecar?.defaults,
        nativeSize: facts.nativeSize,
        sizeBuckets: facts.sizeBuckets,
        maxClipSkip: facts.maxClipSkip,
        family: facts.family,
        schedulerConfig: facts.schedulerConfig,
      },
      bytes: () => sources.reduce((sum, source) => sum + sourceIdentity(source).size, 0),
      identity: () => sources.map(identityOf).join('+'),
      load: () => loadModel(model.path, model.name, env, log, sibling?.path, schedulerOverridesOf(sidecar)),
    });
  }
  return entries;
}

/**
 * Loads a model of the pool: converted first when it never was. A model that cannot be used (its checkpoint, its
 * conversion or its ONNX files fail) rejects with `MODEL_BROKEN` and the reason.
 */
async function loadModel(
  source: string,
  name: string,
  env: PipelineEnv,
  log: Logger,
  inpaintModel?: string,
  schedulerOverrides: SchedulerConfig = {},
): Promise<SupervisedGenerator> {
  try {
    return await startLocalPipeline(source, env, log, inpaintModel, schedulerOverrides);
  } catch (error) {
    // A conversion's failure comes as the ConfigError that would stop a start: its cause says what is wrong.
    const cause = error instanceof ConfigError ? error.cause : undefined;
    if (isCheckpointError(cause) || isConvertError(cause)) {
      throw new FailureError('MODEL_BROKEN', { model: name, reason: cause.message.replace(/\.$/, '') }, { cause });
    }
    throw error;
  }
}

/** The model's name: its file or folder name without `.safetensors`. */
function sourceName(source: string): string {
  return basename(source.replace(/[\\/]+$/, '')).replace(/\.safetensors$/i, '');
}

function identityOf(source: string): string {
  try {
    const { size, mtimeMs } = sourceIdentity(source);
    return `${size}:${mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function factsOf(generator: SupervisedGenerator): ModelFacts {
  const { family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig } = generator;
  return { family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig };
}

/**
 * `load(target)`, and when that fails for the CUDA form under `auto` (the provider's library is there but does not
 * load, or the GPU is gone), `load('portable')` after `onFallback(reason)`: `auto` must end up running. An explicit
 * `cuda` fails as it is.
 */
export async function loadInBestForm<T>(
  choice: ExecutionProviderChoice,
  target: GraphTarget,
  load: (target: GraphTarget) => Promise<T>,
  onFallback: (reason: string) => void,
): Promise<T> {
  if (target === 'portable' || choice !== 'auto') return load(target);
  try {
    return await load(target);
  } catch (error) {
    onFallback(error instanceof Error ? error.message : String(error));
    return load('portable');
  }
}

interface ModelFolder {
  readonly dir: string;
  readonly label: ModelLabel;
}

interface ModelFolders {
  readonly main: ModelFolder;
  readonly inpaint?: ModelFolder;
}

/** The model and its inpainting model (`INPAINT_MODEL_DIR`) in the form `target`. */
async function modelFolders(model: string, inpaintModel: string | undefined, env: PipelineEnv, target: GraphTarget, log: Logger): Promise<ModelFolders> {
  const main = await modelFolder('MODEL_DIR', model, env, target, log);
  if (inpaintModel === undefined) return { main };
  return { main, inpaint: await modelFolder('INPAINT_MODEL_DIR', inpaintModel, env, target, log) };
}

/** Logged conversion progress every this many percent. */
const PROGRESS_LOG_STEP = 10;

/** A1111's short model hash: the first 10 hex digits of the checkpoint's sha256. */
const SHORT_HASH_DIGITS = 10;

/**
 * The ONNX folder for the model `variable` names: as given, from the model cache, or converted now on a thread of
 * its own (logging its progress), with how members see it (the source's name without `.safetensors`, and its short hash). A model that
 * cannot be used becomes a ConfigError: one line naming the variable and the problem.
 */
async function modelFolder(
  variable: string,
  source: string,
  env: PipelineEnv,
  target: GraphTarget,
  log: Logger,
): Promise<ModelFolder> {
  const started = Date.now();
  let logged = -PROGRESS_LOG_STEP;
  try {
    // Off the bot's thread: a first-use conversion takes seconds to minutes, while members go on using the bot.
    const prepared = await prepareModelOffThread(source, {
      cacheDir: env.MODEL_CACHE_DIR,
      dtype: env.MODEL_DTYPE,
      target,
      onConvert: () =>
        log.info(
          { model: source, cacheDir: env.MODEL_CACHE_DIR, dtype: target === 'cuda' ? 'fp16' : env.MODEL_DTYPE, target },
          'converting the checkpoint to ONNX (once)',
        ),
      onProgress: ({ component, fraction }) => {
        const percent = Math.floor(fraction * 100);
        if (percent < logged + PROGRESS_LOG_STEP) return;
        logged = percent - (percent % PROGRESS_LOG_STEP);
        log.info({ model: source, component, percent: logged }, 'converting the checkpoint');
      },
      onWarning: (message) => log.warn({ model: source }, message),
    });
    const ms = Date.now() - started;
    if (prepared.converted) log.info({ model: source, dir: prepared.dir, seconds: Math.round(ms / 100) / 10 }, 'checkpoint converted');
    else if (prepared.dir !== source) log.info({ model: source, dir: prepared.dir, ms }, 'using the cached conversion');
    return { dir: prepared.dir, label: { name: sourceName(source), hash: prepared.sha256?.slice(0, SHORT_HASH_DIGITS) } };
  } catch (error) {
    if (isCheckpointError(error) || isConvertError(error)) {
      throw new ConfigError(`${variable} cannot be used: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
