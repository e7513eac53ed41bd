/**
 * Stable codes of {@link NetworkError}, for a LoRA or an embedding file that cannot be used:
 * - `NOT_FOUND`: the file or folder does not exist or cannot be read.
 * - `PICKLE_REFUSED`: a `.pt`/`.bin`/`.ckpt` PyTorch pickle; loading one runs code from the file.
 * - `UNREADABLE`: not a readable `.safetensors` file (truncated, a bad header).
 * - `NOT_A_NETWORK`: a readable file that is not what it was asked as (a checkpoint given as an embedding).
 * - `UNSUPPORTED`: a kind dreamcord does not apply yet (an SDXL embedding, a LoKr).
 */
export type NetworkErrorCode = 'NOT_FOUND' | 'PICKLE_REFUSED' | 'UNREADABLE' | 'NOT_A_NETWORK' | 'UNSUPPORTED';

/** A network file that cannot be used: a stable code and a message that names the file and what is wrong. */
export class NetworkError extends Error {
  readonly code: NetworkErrorCode;
  readonly file: string;

  constructor(code: NetworkErrorCode, file: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.file = file;
    this.name = `NetworkError[${code}]`;
  }
}

export function isNetworkError(error: unknown, code?: NetworkErrorCode): error is NetworkError {
  return error instanceof NetworkError && (code === undefined || error.code === code);
}
