import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** pino level name. @default 'info' */
  readonly level?: string;
  /** Values that must never be written (the bot token, a store password); each occurrence becomes `[REDACTED]`. */
  readonly secrets?: readonly string[];
  /** Where lines go. @default standard output */
  readonly destination?: DestinationStream;
}

/**
 * The structured logger (pino, JSON lines). Secrets are scrubbed from every string the line carries — messages,
 * fields and serialized errors — because a token can surface anywhere, such as inside a library's error text.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((secret) => secret.length >= 6);
  return pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      redact: { paths: ['token', '*.token', 'headers.authorization', '*.headers.authorization'], censor: '[REDACTED]' },
      formatters: {
        log: (object) => scrub(object, secrets) as Record<string, unknown>,
      },
      hooks: {
        // The message text never reaches `formatters.log`; scrub it here. Objects are scrubbed after pino's
        // serializers have turned errors into plain data.
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrub(arg, secrets) : arg)) as typeof args);
        },
      },
    },
    options.destination,
  );
}

/** Deep copy of `value` with every secret replaced, in strings, fields and errors. */
function scrub(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (secrets.length === 0 || depth > 8) return value;
  if (typeof value === 'string') return secrets.reduce((text, secret) => text.split(secret).join('[REDACTED]'), value);
  if (value instanceof Error) {
    // A copy of the same class, so pino's error serializer still reports its type.
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Error;
    Object.defineProperties(copy, {
      message: { value: scrub(value.message, secrets), enumerable: false },
      stack: { value: scrub(value.stack, secrets), enumerable: false },
      name: { value: value.name, enumerable: false },
    });
    if (value.cause !== undefined) copy.cause = scrub(value.cause, secrets, depth + 1);
    return copy;
  }
  if (Array.isArray(value)) return value.map((item) => scrub(item, secrets, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, scrub(inner, secrets, depth + 1)]));
  }
  return value;
}
