import type { ExecutionProviderChoice, LogLevel } from '../pipeline/index.js';
import type { GeneratedImages, GenerationInputs } from './generator.js';
import type { GenerationRequest } from './request.js';

/** What the generator worker is started with. */
export interface WorkerOptions {
  readonly modelDir: string;
  /** A 9-channel inpainting model for `/inpaint` (`INPAINT_MODEL_DIR`); without it the main model inpaints. */
  readonly inpaintModelDir?: string | undefined;
  readonly provider: ExecutionProviderChoice;
  readonly cacheDir?: string | undefined;
}

/** An error crossing the thread boundary: enough to classify it (code, out-of-memory text, transient). */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string | undefined;
}

export type ToWorker =
  | { readonly type: 'generate'; readonly id: number; readonly request: GenerationRequest; readonly inputs: GenerationInputs }
  | { readonly type: 'abort'; readonly id: number; readonly reason: string };

export type FromWorker =
  | { readonly type: 'ready'; readonly modelName: string; readonly nativeSize: number; readonly providers: Record<string, string> }
  | { readonly type: 'failed'; readonly error: SerializedError }
  | { readonly type: 'log'; readonly level: LogLevel; readonly message: string; readonly fields: Record<string, unknown> }
  | { readonly type: 'progress'; readonly id: number; readonly step: number; readonly total: number }
  | { readonly type: 'result'; readonly id: number; readonly result: GeneratedImages }
  | { readonly type: 'error'; readonly id: number; readonly error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  // Keep the causes' text: out-of-memory is often only in the cause of a wrapped runtime error.
  const causes: string[] = [];
  for (let cause = error.cause; cause instanceof Error && causes.length < 4; cause = cause.cause) causes.push(cause.message);
  return {
    name: error.name,
    message: [error.message, ...causes].join(': '),
    ...(typeof code === 'string' ? { code } : {}),
  };
}
