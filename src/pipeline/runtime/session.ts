import { isPipelineError, PipelineError } from '../errors.js';
import type { ExecutionProvider } from './providers.js';
import type { SessionBackend } from './session-backend.js';
import type { HostTensor, TensorInfo } from './tensor.js';

/** Accumulates the time spent inside ONNX Runtime, so that callers can split model time from their own. */
export interface RunClock {
  /** Milliseconds spent in `session.run` so far; each {@link ModelSession.run} adds its own. */
  modelMs: number;
  /**
   * The part of {@link RunClock.modelMs} inside ONNX Runtime's own run call, where the session can tell it from the
   * copies in and out around it (the native bridge); undefined through onnxruntime-node's binding.
   */
  runCallMs?: number;
}

/**
 * One loaded ONNX model: its graph's inputs and outputs, the provider it runs on, and `run` over
 * {@link HostTensor}s. Created by {@link SessionFactory}; the same session serves every request.
 */
export class ModelSession {
  /** Inputs as the graph declares them, in graph order. */
  readonly inputs: readonly TensorInfo[];
  /** Outputs as the graph declares them, in graph order. */
  readonly outputs: readonly TensorInfo[];
  readonly #session: SessionBackend;

  /** @internal Use {@link SessionFactory.load}. */
  constructor(
    session: SessionBackend,
    /** The model file, as given (for messages). */
    readonly file: string,
    /** The execution provider the session was created on. */
    readonly provider: ExecutionProvider,
  ) {
    this.#session = session;
    this.inputs = session.inputs;
    this.outputs = session.outputs;
  }

  /** The input called `name`, or undefined. */
  input(name: string): TensorInfo | undefined {
    return this.inputs.find((info) => info.name === name);
  }

  /** The output called `name`, or undefined. */
  output(name: string): TensorInfo | undefined {
    return this.outputs.find((info) => info.name === name);
  }

  /**
   * Runs the model. `feeds` must name every graph input; the result holds every graph output, or only `outputs`
   * when given. Input buffers are read, never kept, so callers may reuse them for the next run.
   * @param clock - receives the milliseconds spent in ONNX Runtime.
   * @param outputs - the outputs to fetch (a text encoder's one clip skip layer of many).
   * @throws PipelineError `DEVICE_OOM` when the device runs out of memory, `RUNTIME_ERROR` otherwise (the
   *   message lists the file and the type and shape of every input).
   */
  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    clock?: RunClock,
    outputs?: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    const start = performance.now();
    try {
      return await this.#session.run(feeds, outputs, clock);
    } catch (error) {
      throw isPipelineError(error) ? error : this.#runError(error, feeds);
    } finally {
      if (clock) clock.modelMs += performance.now() - start;
    }
  }

  /** Frees the session's native memory. The session cannot run afterwards. */
  async release(): Promise<void> {
    await this.#session.release();
  }

  #runError(error: unknown, feeds: Readonly<Record<string, HostTensor>>): PipelineError {
    const message = error instanceof Error ? error.message : String(error);
    const inputs = Object.entries(feeds)
      .map(([name, t]) => `${name}: ${t.type}[${t.dims.join(',')}]`)
      .join('; ');
    const oom = /out of memory|failed to allocate|bad_alloc|OOM/i.test(message);
    return new PipelineError(
      oom ? 'DEVICE_OOM' : 'RUNTIME_ERROR',
      `${oom ? 'Out of device memory' : 'ONNX Runtime failed'} running ${this.file} on ${this.provider} ` +
        `(inputs ${inputs}): ${message}`,
      { file: this.file, provider: this.provider },
      { cause: error },
    );
  }
}
