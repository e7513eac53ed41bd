import type { ExecutionProviderChoice } from '../pipeline/index.js';

/**
 * How the image pipeline is doing, as the bot's presence shows it:
 * - `ready`: serving jobs; with `fallback`, on the CPU because the GPU provider that `auto` picked kept failing.
 * - `degraded`: the last job (or jobs) failed inside the pipeline; it is reloaded after
 *   {@link FAILURES_BEFORE_RELOAD} failures in a row.
 * - `reloading`: a fresh pipeline is loading; jobs wait for it.
 * - `down`: the pipeline could not be loaded; jobs fail at once and loading is retried in the background.
 */
export interface PipelineHealth {
  readonly state: 'ready' | 'degraded' | 'reloading' | 'down';
  /** The execution provider the UNet runs on (`cpu`, `cuda`, …), or the one being loaded. */
  readonly provider: string;
  readonly fallback: boolean;
  /** Pipeline failures in a row since the last success or reload. */
  readonly failures: number;
}

/** Pipeline failures in a row after which the pipeline is loaded afresh. */
export const FAILURES_BEFORE_RELOAD = 3;

/**
 * A failure of the pipeline itself, as opposed to a bad request or a cancellation: `runtime` (ONNX Runtime
 * failed), `memory` (the device could not allocate) or `stopped` (the pipeline's thread died under the job).
 */
export type PipelineFault = 'runtime' | 'memory' | 'stopped';

/** What a generator error carries across the worker boundary (see `GeneratorError`). */
interface GeneratorFailure {
  readonly code?: string | undefined;
  readonly transient?: boolean;
}

/** The pipeline fault behind a generator error, or undefined when the error is not the pipeline's fault. */
export function pipelineFault(error: unknown): PipelineFault | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, transient } = error as GeneratorFailure;
  if (code === 'DEVICE_OOM') return 'memory';
  if (code === 'RUNTIME_ERROR') return 'runtime';
  return transient === true ? 'stopped' : undefined;
}

/**
 * The error a member sees for a pipeline fault: what happened in words, without ONNX Runtime's internals (those
 * go to the log). Keeps the original as `cause` and its `transient` flag, so the queue still retries a job whose
 * pipeline stopped, and out-of-memory stays recognisable (the queue retries that once too).
 */
export function memberFacingError(fault: PipelineFault, error: Error, provider: string): Error {
  const text: Record<PipelineFault, string> = {
    runtime: `The model could not run this request (ONNX Runtime error on ${provider}). Other sizes or settings may work; the bot's log has the details.`,
    memory: `${provider === 'cpu' ? 'The computer' : 'The GPU'} did not have enough free memory for this job (OOM). Try a smaller size or fewer images.`,
    stopped: error.message,
  };
  const wrapped = new Error(text[fault], { cause: error });
  return Object.assign(wrapped, { transient: (error as GeneratorFailure).transient === true });
}

/**
 * The provider to load a fresh pipeline with: the CPU when the configured choice is `auto` and the pipeline that
 * kept failing ran on another provider (a GPU that lost memory or its driver); otherwise the configured choice.
 */
export function reloadProvider(
  configured: ExecutionProviderChoice,
  failing: Readonly<Record<string, string>>,
): ExecutionProviderChoice {
  const onAccelerator = Object.values(failing).some((provider) => provider !== 'cpu');
  return configured === 'auto' && onAccelerator ? 'cpu' : configured;
}

/** Where the Discord layer reads the pipeline's health from (`SupervisedGenerator`). */
export interface PipelineHealthSource {
  readonly health: PipelineHealth;
  on(event: 'health', listener: (health: PipelineHealth) => void): unknown;
}
