import type { FailureCode, FailureDetails, JobFailure } from '../failure.js';
import { isPipelineError, type CudaGraphChoice, type ExecutionProviderChoice, type LogLevel, type NativeBridgeChoice, type PipelineErrorCode, type Rgb8Image, type SchedulerConfig, type FamilyFacts, type ModelFamily } from '../pipeline/index.js';
import type { GeneratedImages, GenerationInputs, ModelLabel } from './generator.js';
import type { GenerationRequest } from './request.js';

/** What the generator worker is started with. */
export interface WorkerOptions {
  readonly modelDir: string;
  /** A 9-channel inpainting model for `/inpaint` (`INPAINT_MODEL_DIR`); without it the main model inpaints. */
  readonly inpaintModelDir?: string | undefined;
  /** Textual-inversion embeddings for every prompt (`EMBEDDINGS_DIR`). */
  readonly embeddingsDir?: string | undefined;
  /** Where the LoRAs that prompts call are (`LORA_DIR`). */
  readonly loraDir?: string | undefined;
  readonly provider: ExecutionProviderChoice;
  /** Where sessions go through the native bridge to ONNX Runtime's C API (`ONNX_NATIVE_BRIDGE`). @default 'off' */
  readonly nativeBridge?: NativeBridgeChoice | undefined;
  /** Where the UNet runs as CUDA graphs through the bridge (`ONNX_CUDA_GRAPHS`). @default 'off' */
  readonly cudaGraph?: CudaGraphChoice | undefined;
  readonly cacheDir?: string | undefined;
  /** How the embed and the infotext name each model folder (by its path): its source's name and short hash. */
  readonly modelLabels?: Readonly<Record<string, ModelLabel>> | undefined;
  /** Laid over the main model's scheduler config (a `MODELS_DIR` sidecar's prediction type and zero terminal SNR). */
  readonly schedulerOverrides?: SchedulerConfig | undefined;
}

/** An error crossing the thread boundary: its failure as data, and its text (with its causes') for the log only. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly failure: JobFailure;
}

/** One job sent to the worker, by the id its progress, result and abort go by. */
export interface WorkerJob {
  readonly id: number;
  readonly request: GenerationRequest;
  readonly inputs: GenerationInputs;
}

export type ToWorker =
  | { readonly type: 'generate'; readonly job: WorkerJob }
  /** Jobs run as one batch (`ModelGenerator.generateBatch`), each answered by its own id. */
  | { readonly type: 'generate-batch'; readonly jobs: readonly WorkerJob[]; readonly maxRows: number }
  | { readonly type: 'abort'; readonly id: number; readonly reason: string };

export type FromWorker =
  | {
      readonly type: 'ready';
      readonly modelName: string;
      readonly nativeSize: number;
      readonly sizeBuckets: FamilyFacts['sizeBuckets'];
      readonly maxClipSkip: number;
      readonly family: ModelFamily;
      readonly schedulerConfig: SchedulerConfig;
      readonly providers: Record<string, string>;
    }
  | { readonly type: 'failed'; readonly error: SerializedError }
  | { readonly type: 'log'; readonly level: LogLevel; readonly message: string; readonly fields: Record<string, unknown> }
  | { readonly type: 'progress'; readonly id: number; readonly step: number; readonly total: number; readonly preview?: Rgb8Image | undefined }
  | { readonly type: 'result'; readonly id: number; readonly result: GeneratedImages }
  | { readonly type: 'error'; readonly id: number; readonly error: SerializedError };

/** Pipeline error codes that say the model's files cannot be used: the model is broken until they change. */
const MODEL_FILE_CODES: readonly PipelineErrorCode[] = ['MODEL_MISSING_FILE', 'MODEL_CORRUPT', 'MODEL_UNSUPPORTED', 'MODEL_MISMATCH'];

/** The failures of the pipeline's own error codes; other codes (a provider that cannot load) fail as `FAILED`. */
const PIPELINE_FAILURES: Partial<Record<PipelineErrorCode, FailureCode>> = {
  DEVICE_OOM: 'OUT_OF_MEMORY',
  RUNTIME_ERROR: 'RUNTIME_ERROR',
  INVALID_REQUEST: 'INVALID_REQUEST',
  INVALID_IMAGE: 'INVALID_IMAGE',
  CANCELLED: 'CANCELLED',
};

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), failure: failureOf(error) };
  // The causes' text is for the log: ONNX Runtime's own words are often only in the cause.
  const causes: string[] = [];
  for (let cause = error.cause; cause instanceof Error && causes.length < 4; cause = cause.cause) causes.push(cause.message);
  return { name: error.name, message: [error.message, ...causes].join(': '), failure: failureOf(error) };
}

/** The failure an error stands for: the one it carries, else its pipeline error code's (by code, never by text). */
function failureOf(error: unknown): JobFailure {
  const carried = typeof error === 'object' && error !== null ? (error as { failure?: JobFailure }).failure : undefined;
  if (carried) return carried;
  if (isPipelineError(error) && MODEL_FILE_CODES.includes(error.code)) {
    return { code: 'MODEL_BROKEN', transient: false, details: { reason: error.message } };
  }
  const code = isPipelineError(error) ? PIPELINE_FAILURES[error.code] : undefined;
  if (!code || !isPipelineError(error)) return { code: 'FAILED', transient: false, details: {} };
  // Out of memory may pass once the memory held by another job is free.
  const { field } = error.details;
  const details: FailureDetails = field === undefined ? {} : { field };
  return { code, transient: code === 'OUT_OF_MEMORY', details };
}

/** A failure of the pipeline's thread itself (it died, or was stopped or restarted): another attempt may work. */
export function pipelineStopped(message: string): SerializedError {
  return { name: 'Error', message, failure: { code: 'PIPELINE_STOPPED', transient: true, details: {} } };
}
