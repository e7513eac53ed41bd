import { isCheckpointError, type CheckpointErrorCode } from '../checkpoint/index.js';
import { isConvertError, type ConvertErrorCode } from '../convert/errors.js';

/**
 * Exit codes of `dreamcord` for a model that cannot be read or converted, one per kind, so scripts can tell a
 * damaged download from a wrong file from a full disk. 0 is success, 1 any other failure, 2 a usage error.
 */
export const EXIT_CODES: Readonly<Record<CheckpointErrorCode | ConvertErrorCode, number>> = {
  NOT_FOUND: 3,
  PICKLE_REFUSED: 4,
  TRUNCATED: 5,
  BAD_HEADER: 6,
  BAD_OFFSETS: 7,
  UNKNOWN_DTYPE: 8,
  NOT_A_CHECKPOINT: 9,
  UNSUPPORTED_FAMILY: 10,
  INCOMPLETE: 11,
  OUTPUT_EXISTS: 12,
  DISK_FULL: 13,
  WRITE_FAILED: 14,
};

/** The exit code for `error` when it is a checkpoint or conversion failure; undefined otherwise. */
export function modelExitCode(error: unknown): number | undefined {
  return isCheckpointError(error) || isConvertError(error) ? EXIT_CODES[error.code] : undefined;
}

/** The table above as usage text. */
export function exitCodeHelp(): string {
  const lines = Object.entries(EXIT_CODES).map(([code, exit]) => `  ${String(exit).padStart(2)}  ${code}`);
  return ['Exit codes: 0 done, 1 other failure, 2 usage error, and for the model:', ...lines].join('\n');
}
