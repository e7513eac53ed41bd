import { FailureError, type FailureCode, type JobFailure } from '../failure.js';
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

/** The pipeline faults by failure code: what counts towards a reload. */
const FAULTS: Partial<Record<FailureCode, PipelineFault>> = { OUT_OF_MEMORY: 'memory', RUNTIME_ERROR: 'runtime', PIPELINE_STOPPED: 'stopped' };

/** The pipeline fault behind a generator error (by its failure's code), or undefined when it is not the pipeline's. */
export function pipelineFault(error: unknown): PipelineFault | undefined {
  const failure = typeof error === 'object' && error !== null ? (error as { failure?: JobFailure }).failure : undefined;
  return failure && FAULTS[failure.code];
}

/** `error`'s failure with the execution provider it happened on, for the words the member reads. */
export function onProvider(error: unknown, provider: string): FailureError {
  const { code, transient, details } = (error as { failure: JobFailure }).failure;
  return new FailureError(code, { ...details, provider }, { transient, cause: error });
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
  off(event: 'health', listener: (health: PipelineHealth) => void): unknown;
}
