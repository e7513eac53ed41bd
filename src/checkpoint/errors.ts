/**
 * Stable codes of {@link CheckpointError}. Callers (the CLI's exit codes, the bot's start-up line) branch on these:
 * - `NOT_FOUND`: the path does not exist or is not readable.
 * - `PICKLE_REFUSED`: a `.ckpt`/`.pt`/`.bin` PyTorch pickle; loading one runs code from the file, so it is refused.
 * - `TRUNCATED`: the file ends before the data its header describes (an interrupted download).
 * - `BAD_HEADER`: the header is not JSON, not an object, or claims more bytes than the file has.
 * - `BAD_OFFSETS`: a tensor's data range is out of the data area, of the wrong length, or overlaps another.
 * - `UNKNOWN_DTYPE`: a tensor has a dtype this reader does not know (or cannot widen to float32).
 * - `NOT_A_CHECKPOINT`: a readable file that is something else (a LoRA, an embedding, a lone VAE).
 * - `UNSUPPORTED_FAMILY`: a checkpoint of a family dreamcord does not convert yet (SDXL, SD 3, …).
 * - `INCOMPLETE`: a checkpoint of a known family with keys missing (a partial or pruned file).
 */
export type CheckpointErrorCode =
  | 'NOT_FOUND'
  | 'PICKLE_REFUSED'
  | 'TRUNCATED'
  | 'BAD_HEADER'
  | 'BAD_OFFSETS'
  | 'UNKNOWN_DTYPE'
  | 'NOT_A_CHECKPOINT'
  | 'UNSUPPORTED_FAMILY'
  | 'INCOMPLETE';

/** A checkpoint that cannot be read or converted: a stable code and a message that names the file and the part. */
export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  readonly file: string;

  constructor(code: CheckpointErrorCode, file: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.file = file;
    this.name = `CheckpointError[${code}]`;
  }
}

export function isCheckpointError(error: unknown, code?: CheckpointErrorCode): error is CheckpointError {
  return error instanceof CheckpointError && (code === undefined || error.code === code);
}
