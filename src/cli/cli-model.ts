import { DEFAULT_MODEL_CACHE_DIR } from '../config/env.js';
import { graphTargetFor, prepareModel, type PreparedModel } from '../convert/model-cache.js';
import { parseProviderChoice, type ExecutionProviderChoice } from '../pipeline/index.js';
import { UsageError, type CliIO } from './command.js';
import { progressReporter as convertProgressReporter } from './convert.js';

/**
 * The ONNX folder for a model the command line names: converted into `MODEL_CACHE_DIR` as `MODEL_DTYPE` (with a
 * progress bar) when it is a checkpoint not cached yet, in the form `provider` runs (`EXECUTION_PROVIDER` when
 * not given: the bot's).
 */
export async function prepareCliModel(model: string, io: CliIO, provider?: ExecutionProviderChoice): Promise<PreparedModel> {
  const dtype = process.env.MODEL_DTYPE || 'fp32';
  if (dtype !== 'fp32' && dtype !== 'fp16') throw new UsageError(`MODEL_DTYPE must be fp32 or fp16, not ${dtype}`);
  const choice = provider ?? usageProvider(process.env.EXECUTION_PROVIDER || 'auto');
  const prepared = await prepareModel(model, {
    cacheDir: process.env.MODEL_CACHE_DIR || DEFAULT_MODEL_CACHE_DIR,
    dtype,
    target: graphTargetFor(choice),
    onConvert: (source) => io.stderr.write(`converting ${source} (once; later runs reuse the conversion)\n`),
    onProgress: convertProgressReporter(io),
    onWarning: (message) => io.stderr.write(`warning: ${message}\n`),
  });
  return prepared;
}

function usageProvider(value: string): ExecutionProviderChoice {
  try {
    return parseProviderChoice(value);
  } catch (error) {
    throw new UsageError(`EXECUTION_PROVIDER: ${(error as Error).message}`);
  }
}
