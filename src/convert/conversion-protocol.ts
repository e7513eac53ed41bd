// Messages between the bot's thread and the conversion thread (conversion-thread.ts ↔ conversion-worker.ts).
import type { CheckpointErrorCode } from '../checkpoint/index.js';
import type { ConvertProgress } from './convert.js';
import type { ConvertErrorCode } from './errors.js';
import type { PrepareOptions, PreparedModel } from './model-cache.js';

/** What the conversion thread is given: `prepareModel`'s arguments without the callbacks (they become messages). */
export interface ConversionWorkerData {
  readonly source: string;
  readonly options: Omit<PrepareOptions, 'onConvert' | 'onProgress' | 'onWarning'>;
}

/** An error as it crosses the thread boundary: the project's own kinds keep their code, file and message. */
export type ThreadError =
  | { readonly kind: 'checkpoint'; readonly code: CheckpointErrorCode; readonly file: string; readonly message: string }
  | { readonly kind: 'convert'; readonly code: ConvertErrorCode; readonly message: string }
  | { readonly kind: 'other'; readonly message: string };

export type FromConversion =
  | { readonly type: 'convert' }
  | { readonly type: 'progress'; readonly progress: ConvertProgress }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'done'; readonly prepared: PreparedModel }
  | { readonly type: 'failed'; readonly error: ThreadError };
