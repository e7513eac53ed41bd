import { isCheckpointError } from './checkpoint/index.js';
import { ConfigError, type EnvConfig } from './config/index.js';
import { isConvertError } from './convert/errors.js';
import { prepareModel } from './convert/model-cache.js';
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
 * Loads the pipeline on this machine for model `model` (converting a checkpoint once), supervised: reloaded after
 * repeated faults, on the CPU when `auto` picked a GPU that keeps failing.
 */
export async function startLocalPipeline(model: string, env: PipelineEnv, log: Logger): Promise<SupervisedGenerator> {
  const main = await modelFolder('MODEL_DIR', model, env, log);
  const inpaint =
    env.INPAINT_MODEL_DIR === undefined ? undefined : await modelFolder('INPAINT_MODEL_DIR', env.INPAINT_MODEL_DIR, env, log);
  const modelDir = main.dir;
  const inpaintModelDir = inpaint?.dir;
  const modelLabels = Object.fromEntries([main, ...(inpaint ? [inpaint] : [])].map((m) => [m.dir, m.label]));
  const generator = await SupervisedGenerator.start({
    provider: env.EXECUTION_PROVIDER,
    load: (provider) =>
      WorkerGenerator.start(
        { modelDir, inpaintModelDir, embeddingsDir: env.EMBEDDINGS_DIR, loraDir: env.LORA_DIR, provider, modelLabels },
        (level, message, fields) => log[level](fields, message),
      ),
    log,
  });
  log.info({ model: generator.modelName, providers: generator.providers }, 'pipeline loaded');
  return generator;
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
  log: Logger,
): Promise<{ dir: string; label: ModelLabel }> {
  const started = Date.now();
  let logged = -PROGRESS_LOG_STEP;
  try {
    const prepared = await prepareModel(source, {
      cacheDir: env.MODEL_CACHE_DIR,
      dtype: env.MODEL_DTYPE,
      onConvert: () => log.info({ model: source, cacheDir: env.MODEL_CACHE_DIR, dtype: env.MODEL_DTYPE }, 'converting the checkpoint to ONNX (once)'),
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
