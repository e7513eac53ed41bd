/** Why an uploaded file cannot be used as an input image; stable values the bot may branch on. */
export type ImageInputErrorCode =
  | 'NOT_AN_IMAGE'
  | 'UNSUPPORTED_FORMAT'
  | 'ANIMATED'
  | 'TOO_MANY_PIXELS'
  | 'TOO_LARGE'
  | 'CORRUPT';

/**
 * An input image was refused. `message` is written for the Discord member who sent the file and may be shown
 * as is; `code` is for the program; `cause` keeps the underlying decoder error, if any, for the logs.
 */
export class ImageInputError extends Error {
  override readonly name = 'ImageInputError';

  constructor(
    readonly code: ImageInputErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `n` in millions with two significant digits at most ("400", "4.2", "0.26"), for messages. */
export function formatMillions(n: number): string {
  return String(Number((n / 1e6).toPrecision(2)));
}
