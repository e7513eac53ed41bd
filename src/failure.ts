/**
 * Why a job failed, as data: a stable `code`, whether another attempt may succeed (`transient`), and the facts a
 * sentence needs (`details`: never prompts or other member data). It crosses the pipeline worker's thread boundary
 * and the store as plain JSON; the queue decides on retries by `transient`, and only the Discord layer turns a code
 * into words (`discord/delivery/failure-text.ts`).
 *
 * - `OUT_OF_MEMORY`: the device could not allocate (transient: the memory may have been held by another job).
 * - `RUNTIME_ERROR`: ONNX Runtime failed running the model.
 * - `PIPELINE_STOPPED`: the pipeline's thread died or restarted under the job (transient).
 * - `PIPELINE_UNAVAILABLE`: the pipeline cannot be loaded right now.
 * - `MODEL_BROKEN`: the job's model cannot be used (its conversion or loading failed: `details.model`,
 *   `details.reason`) until its file changes.
 * - `NO_WORKER`: no GPU worker with the job's model came back within the time the bot waits for one
 *   (`details.model`, `details.waitedMs`).
 * - `INPUT_MISSING`: a picture the job starts from is no longer stored (`details.what`).
 * - `INVALID_REQUEST`, `INVALID_IMAGE`, `CANCELLED`: the pipeline's own codes (`details.field`).
 * - `TIMED_OUT` (`details.limitMs`), `INTERRUPTED` (`details.attempts`): set by the queue.
 * - `UNDELIVERABLE`: the result could not be shown (`details.reason`: `refused` or `lost`).
 * - `FAILED`: anything else (`details.reason` holds the error's message, for the log).
 */
export interface JobFailure {
  readonly code: FailureCode;
  readonly transient: boolean;
  readonly details: FailureDetails;
}

/** Every failure code, for a failure read back from outside the process (a GPU worker's answer). */
export const FAILURE_CODES = [
  'OUT_OF_MEMORY',
  'RUNTIME_ERROR',
  'PIPELINE_STOPPED',
  'PIPELINE_UNAVAILABLE',
  'MODEL_BROKEN',
  'INPUT_MISSING',
  'NO_WORKER',
  'INVALID_REQUEST',
  'INVALID_IMAGE',
  'CANCELLED',
  'TIMED_OUT',
  'INTERRUPTED',
  'UNDELIVERABLE',
  'FAILED',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

/** Facts about a failure, by name: `provider`, `field`, `what`, `limitMs`, `attempts`, `reason`. */
export type FailureDetails = Readonly<Record<string, string | number>>;

/** An error that carries its {@link JobFailure}; what crosses a boundary is `failure`, never the message. */
export class FailureError extends Error {
  readonly failure: JobFailure;

  constructor(code: FailureCode, details: FailureDetails = {}, options: { transient?: boolean; cause?: unknown } = {}) {
    super(`${code}${Object.keys(details).length > 0 ? ` ${JSON.stringify(details)}` : ''}`, { cause: options.cause });
    this.name = `FailureError[${code}]`;
    this.failure = { code, transient: options.transient ?? false, details };
  }
}
