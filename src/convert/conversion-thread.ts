import { CheckpointError } from '../checkpoint/index.js';
import { startWorker } from '../worker-thread.js';
import type { ConversionWorkerData, FromConversion, ThreadError } from './conversion-protocol.js';
import { ConvertError } from './errors.js';
import type { PrepareOptions, PreparedModel } from './model-cache.js';

/**
 * `prepareModel` on a thread of its own: a conversion reads, converts and writes gigabytes for seconds to minutes,
 * which on the bot's thread would stall Discord's heartbeats and every other member's commands. The callbacks are
 * called on the caller's thread, and the errors are the same (`CheckpointError`, `ConvertError` with their codes),
 * so callers cannot tell the difference but for a responsive event loop.
 * @throws CheckpointError, ConvertError as `prepareModel`; Error when the thread itself fails.
 */
export function prepareModelOffThread(source: string, options: PrepareOptions): Promise<PreparedModel> {
  const { onConvert, onProgress, onWarning, ...plain } = options;
  const worker = startWorker(new URL('./conversion-worker.js', import.meta.url), { source, options: plain } satisfies ConversionWorkerData);
  return new Promise<PreparedModel>((resolve, reject) => {
    worker.on('message', (message: FromConversion) => {
      switch (message.type) {
        case 'convert':
          return onConvert?.(source);
        case 'progress':
          return onProgress?.(message.progress);
        case 'warning':
          return onWarning?.(message.message);
        case 'done':
          return resolve(message.prepared);
        case 'failed':
          return reject(errorOf(message.error));
      }
    });
    worker.on('error', reject);
    // After 'done' or 'failed' this settles nothing; before, the thread died without a word.
    worker.on('exit', (code) => reject(new Error(`the conversion thread for ${source} exited with code ${code}`)));
  });
}

function errorOf(error: ThreadError): Error {
  switch (error.kind) {
    case 'checkpoint':
      return new CheckpointError(error.code, error.file, error.message);
    case 'convert':
      return new ConvertError(error.code, error.message);
    case 'other':
      return new Error(error.message);
  }
}
