import { isCheckpointError } from './checkpoint/index.js';
import { ConfigError, type EnvConfig } from './config/index.js';
import type { ExecutionProviderChoice } from './pipeline/index.js';
import { isConvertError } from './convert/errors.js';
import type { GraphTarget } from './convert/graphs/image-layers.js';
import { graphTargetFor, prepareModel } from './convert/model-cache.js';
import type { Logger } from './log.js';
import type { ModelLabel } from './generator/generator.js';
import { basename } from 'node:path';
import { SupervisedGenerator } from './generator/supervised-generator.js';
import { WorkerGenerator } from './generator/worker-generator.js';

/** The settings a pipeline on this machine needs, whether the bot's own or a GPU worker's. */
export type PipelineEnv = Pick<
  EnvConfig,
  'INPAINT_MODEL_DIR' | 'EMBEDDINGS_DIR' | 'LORA_DIR' | 'MODEL_CACHE_DIR' | 'MODEL_DTYPE' | 'EXECUTION_PROVIDER'
>;

/**
 * Loads the pipeline on this machine for model `model` (converting a checkpoint once, in the form the provider
 * runs best: see `graphTargetFor`), supervised: reloaded after repeated faults, on the CPU when `auto` picked a GPU
 * that keeps failing. When `auto` chose the CUDA form and it does not load, the portable form is loaded instead.
 */
export async function startLocalPipeline(model: string, env: PipelineEnv, log: Logger): Promise<SupervisedGenerator> {
  const folders = new Map<GraphTarget, Promise<ModelFolders>>();
  const foldersFor = (target: GraphTarget): Promise<ModelFolders> => {
    let known = folders.get(target);
    if (!known) {
      known = modelFolders(model, env, target, log);
      folders.set(target, known);
    }
    return known;
  };
  const start = async (provider: ExecutionProviderChoice, target: GraphTarget): Promise<WorkerGenerator> => {
    const { main, inpaint } = await foldersFor(target);
    const modelLabels = Object.fromEntries([main, ...(inpaint ? [inpaint] : [])].map((m) => [m.dir, m.label]));
    return WorkerGenerator.start(
      { modelDir: main.dir, inpaintModelDir: inpaint?.dir, embeddingsDir: env.EMBEDDINGS_DIR, loraDir: env.LORA_DIR, provider, modelLabels },
      (level, message, fields) => log[level](fields, message),
    );
  };
  // Converted before the first load, so that a bad model stops the start with its ConfigError.
  await foldersFor(graphTargetFor(env.EXECUTION_PROVIDER));
  const generator = await SupervisedGenerator.start({
    provider: env.EXECUTION_PROVIDER,
    load: async (provider) => {
      const target = graphTargetFor(provider);
      if (target === 'portable' || provider !== 'auto') return start(provider, target);
      try {
        return await start(provider, target);
      } catch (error) {
        log.warn({ reason: error instanceof Error ? error.message : String(error) }, 'the CUDA form of the model did not load; using the portable form');
        return start(provider, 'portable');
      }
    },
    log,
  });
  log.info({ model: generator.modelName, providers: generator.providers }, 'pipeline loaded');
  return generator;
}

interface ModelFolder {
  readonly dir: string;
  readonly label: ModelLabel;
}

interface ModelFolders {
  readonly main: ModelFolder;
  readonly inpaint?: ModelFolder;
}

/** `MODEL_DIR` and `INPAINT_MODEL_DIR` in the form `target`. */
async function modelFolders(model: string, env: PipelineEnv, target: GraphTarget, log: Logger): Promise<ModelFolders> {
  const main = await modelFolder('MODEL_DIR', model, env, target, log);
  if (env.INPAINT_MODEL_DIR === undefined) return { main };
  return { main, inpaint: await modelFolder('INPAINT_MODEL_DIR', env.INPAINT_MODEL_DIR, env, target, log) };
}

/** Logged conversion progress every this many percent. */
const PROGRESS_LOG_STEP = 10;

/** A1111's short model hash: the first 10 hex digits of the checkpoint's sha256. */
const SHORT_HASH_DIGITS = 10;

/**
 * The ONNX folder for the model `variable` names: as given, from the model cache, or converted now (logging its
 * progress), with how members see it (the source's name without `.safetensors`, and its short hash). A model that
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
    const prepared = await prepareModel(source, {
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
    const name = basename(source.replace(/[\\/]+$/, '')).replace(/\.safetensors$/i, '');
    return { dir: prepared.dir, label: { name, hash: prepared.sha256?.slice(0, SHORT_HASH_DIGITS) } };
  } catch (error) {
    if (isCheckpointError(error) || isConvertError(error)) {
      throw new ConfigError(`${variable} cannot be used: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
