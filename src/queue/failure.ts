import { inspect } from 'node:util';

/**
 * Why a job failed, as data: a `code` (the runner's own, or the queue's `FAILED`, `TIMED_OUT`, `INTERRUPTED`),
 * whether another attempt may succeed, and facts for the words, which the queue never writes.
 */
export interface Failure {
  readonly code: string;
  readonly transient: boolean;
  readonly details: Readonly<Record<string, string | number>>;
}

/**
 * Classifies what a runner threw by the failure it carries (`error.failure`, see `src/failure.ts`), never by its
 * message: an error without one is `FAILED`, not transient, its message kept in `details.reason` for the log.
 */
export function classifyFailure(error: unknown): Failure {
  const carried = typeof error === 'object' && error !== null ? (error as { failure?: unknown }).failure : undefined;
  if (isFailure(carried)) return carried;
  return { code: 'FAILED', transient: false, details: { reason: messageOf(error) || 'no reason given' } };
}

/** The failure of a job stopped at its time limit of `limitMs`. */
export function timedOut(limitMs: number): Failure {
  return { code: 'TIMED_OUT', transient: false, details: { limitMs } };
}

/** The failure of a job that was running each time the bot stopped, `attempts` times in all. */
export function interrupted(attempts: number): Failure {
  return { code: 'INTERRUPTED', transient: false, details: { attempts } };
}

function isFailure(value: unknown): value is Failure {
  if (typeof value !== 'object' || value === null) return false;
  const { code, transient, details } = value as Partial<Failure>;
  return typeof code === 'string' && typeof transient === 'boolean' && typeof details === 'object' && details !== null;
}

/** The message of an error; a runner that throws something else gets it printed. */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  return error === undefined || error === null ? '' : inspect(error, { depth: 2 });
}
