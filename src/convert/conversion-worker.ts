// The conversion thread's entry: runs `prepareModel` once and reports to the thread that started it.
import { parentPort, workerData } from 'node:worker_threads';
import { isCheckpointError } from '../checkpoint/index.js';
import type { ConversionWorkerData, FromConversion, ThreadError } from './conversion-protocol.js';
import { isConvertError } from './errors.js';
import { prepareModel } from './model-cache.js';

const { source, options } = workerData as ConversionWorkerData;
const post = (message: FromConversion): void => parentPort?.postMessage(message);

function threadError(error: unknown): ThreadError {
  if (isCheckpointError(error)) return { kind: 'checkpoint', code: error.code, file: error.file, message: error.message };
  if (isConvertError(error)) return { kind: 'convert', code: error.code, message: error.message };
  return { kind: 'other', message: error instanceof Error ? error.message : String(error) };
}

try {
  const prepared = await prepareModel(source, {
    ...options,
    onConvert: () => post({ type: 'convert' }),
    onProgress: (progress) => post({ type: 'progress', progress }),
    onWarning: (message) => post({ type: 'warning', message }),
  });
  post({ type: 'done', prepared });
} catch (error) {
  post({ type: 'failed', error: threadError(error) });
}
