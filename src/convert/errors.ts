/**
 * Stable codes of {@link ConvertError} (what goes wrong writing a conversion; reading the checkpoint throws
 * `CheckpointError` instead):
 * - `OUTPUT_EXISTS`: `--out` names something that is already there (never overwritten).
 * - `DISK_FULL`: the disk filled up; the partial output was removed.
 * - `WRITE_FAILED`: any other failure writing the output; the partial output was removed.
 */
export type ConvertErrorCode = 'OUTPUT_EXISTS' | 'DISK_FULL' | 'WRITE_FAILED';

export class ConvertError extends Error {
  readonly code: ConvertErrorCode;

  constructor(code: ConvertErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = `ConvertError[${code}]`;
  }
}

export function isConvertError(error: unknown, code?: ConvertErrorCode): error is ConvertError {
  return error instanceof ConvertError && (code === undefined || error.code === code);
}
