/**
 * Stable codes of {@link PipelineError}. Callers branch on these, never on message text:
 * - `MODEL_MISSING_FILE`: a file the model folder needs is absent (the message names it).
 * - `MODEL_CORRUPT`: a file exists but cannot be parsed (not ONNX, truncated, bad JSON).
 * - `MODEL_UNSUPPORTED`: a readable model of a family or layout dreamcord does not run yet (SDXL, odd IO).
 * - `MODEL_MISMATCH`: components that do not fit together (text encoder width ≠ UNet's, wrong channels).
 * - `PROVIDER_UNAVAILABLE`: the execution provider asked for explicitly cannot be loaded on this machine.
 * - `INVALID_REQUEST`: a request field is out of range or inconsistent (the message names the field).
 * - `INVALID_IMAGE`: an init image or mask cannot be decoded or used.
 * - `CANCELLED`: the request's `AbortSignal` fired; the pipeline stays usable.
 * - `DEVICE_OOM`: the device ran out of memory during a model run.
 * - `RUNTIME_ERROR`: any other failure inside ONNX Runtime.
 */
export type PipelineErrorCode =
  | 'MODEL_MISSING_FILE'
  | 'MODEL_CORRUPT'
  | 'MODEL_UNSUPPORTED'
  | 'MODEL_MISMATCH'
  | 'PROVIDER_UNAVAILABLE'
  | 'INVALID_REQUEST'
  | 'INVALID_IMAGE'
  | 'CANCELLED'
  | 'DEVICE_OOM'
  | 'RUNTIME_ERROR';

/** Context attached to a {@link PipelineError}; never holds prompts or other user data. */
export interface PipelineErrorDetails {
  /** The file the error is about (a model component, `model_index.json`, an input image). */
  readonly file?: string;
  /** The request field the error is about (`steps`, `width`, …). */
  readonly field?: string;
  /** The execution provider involved. */
  readonly provider?: string;
}

/**
 * Every failure the pipeline reports: a stable {@link PipelineErrorCode}, a message that says what is wrong and
 * where, the context in `details`, and the underlying error in `cause`. `name` is `PipelineError[CODE]`.
 */
export class PipelineError extends Error {
  readonly code: PipelineErrorCode;
  readonly details: PipelineErrorDetails;

  constructor(code: PipelineErrorCode, message: string, details: PipelineErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.details = details;
    this.name = `PipelineError[${code}]`;
  }
}

/** True when `error` is a {@link PipelineError}, optionally with the given `code`. */
export function isPipelineError(error: unknown, code?: PipelineErrorCode): error is PipelineError {
  return error instanceof PipelineError && (code === undefined || error.code === code);
}
