/** Severity of a {@link PipelineLogger} line, as pino names them. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Where the pipeline reports what it did (which provider each model loaded on, load times, fallbacks). The
 * pipeline has no logging dependency: the host passes a callback, for pino
 * `(level, msg, fields) => log[level](fields, msg)`. `fields` never holds prompts.
 */
export type PipelineLogger = (level: LogLevel, message: string, fields: Readonly<Record<string, unknown>>) => void;
