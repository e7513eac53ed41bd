import { inspect } from 'node:util';

/**
 * Why a job failed. `FAILED`: the runner threw. `TIMED_OUT`: it ran past the time limit. `OUT_OF_MEMORY`: the GPU
 * (or the host) could not allocate. `INTERRUPTED`: the bot stopped while it ran, on its last attempt.
 */
export type FailureCode = 'FAILED' | 'TIMED_OUT' | 'OUT_OF_MEMORY' | 'INTERRUPTED';

/** A classified failure: a code, a reason the bot can show, and whether another attempt may succeed. */
export interface Failure {
  readonly code: FailureCode;
  readonly message: string;
  readonly transient: boolean;
}

/** Messages of onnxruntime (CUDA, DirectML, CPU arena) and of the C++ runtime when an allocation fails. */
const OUT_OF_MEMORY = /out of memory|\bOOM\b|CUDA_ERROR_OUT_OF_MEMORY|bad_alloc|Failed to allocate/i;

/**
 * Classifies what a runner threw. Out-of-memory anywhere in the `cause` chain gives `OUT_OF_MEMORY`, which is
 * transient (the memory may have been held by a job that has since finished); anything else is `FAILED` with the
 * error's own message, transient when an error of the chain has `transient: true`.
 */
export function classifyFailure(error: unknown): Failure {
  const chain = causeChain(error);
  const message = chain.map(messageOf).find((text) => text !== '') ?? 'The job failed without a reason.';
  const outOfMemory = chain.map(messageOf).find((text) => OUT_OF_MEMORY.test(text));
  if (outOfMemory !== undefined) {
    return { code: 'OUT_OF_MEMORY', message: `Ran out of memory: ${outOfMemory}`, transient: true };
  }
  const transient = chain.some((link) => typeof link === 'object' && link !== null && 'transient' in link && link.transient === true);
  return { code: 'FAILED', message, transient };
}

/** The failure of a job stopped at its time limit of `limitMs`. */
export function timedOut(limitMs: number): Failure {
  return { code: 'TIMED_OUT', message: `The job took longer than ${formatDuration(limitMs)} and was stopped.`, transient: false };
}

/** The failure of a job that was running each time the bot stopped, `attempts` times in all. */
export function interrupted(attempts: number): Failure {
  return {
    code: 'INTERRUPTED',
    message: `The bot stopped while this job was running (${attempts} times), so it was not started again.`,
    transient: false,
  };
}

/** "850 ms", "45 s", "10 min", "1.5 min". */
function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const minutes = ms / 60_000;
  return `${Number.isInteger(minutes) ? minutes : minutes.toFixed(1)} min`;
}

/** `error` and its causes, outermost first (at most 8, in case of a cycle). */
function causeChain(error: unknown): unknown[] {
  const chain = [error];
  let link = error;
  while (chain.length < 8 && link instanceof Error && link.cause !== undefined) {
    link = link.cause;
    chain.push(link);
  }
  return chain;
}

/** The message of an error; a runner that throws something else gets it printed. */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  return error === undefined || error === null ? '' : inspect(error, { depth: 2 });
}
