import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { PipelineError } from '../errors.js';
import type { ExecutionProvider } from './providers.js';
import type { HostTensor, TensorInfo } from './tensor.js';

/** Accumulates the time spent inside ONNX Runtime, so that callers can split model time from their own. */
export interface RunClock {
  /** Milliseconds spent in `session.run` so far; each {@link ModelSession.run} adds its own. */
  modelMs: number;
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
  readonly #session: InferenceSession;

  /** @internal Use {@link SessionFactory.load}. */
  constructor(
    session: InferenceSession,
    /** The model file, as given (for messages). */
    readonly file: string,
    /** The execution provider the session was created on. */
    readonly provider: ExecutionProvider,
  ) {
    this.#session = session;
    this.inputs = session.inputMetadata.map(toTensorInfo);
    this.outputs = session.outputMetadata.map(toTensorInfo);
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
    const ortFeeds: Record<string, Tensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) {
      ortFeeds[name] = new Tensor(tensor.type, tensor.data, tensor.dims);
    }
    const start = performance.now();
    let results: InferenceSession.ReturnType;
    try {
      results = await (outputs ? this.#session.run(ortFeeds, [...outputs]) : this.#session.run(ortFeeds));
    } catch (error) {
      throw this.#runError(error, feeds);
    } finally {
      if (clock) clock.modelMs += performance.now() - start;
    }
    const out: Record<string, HostTensor> = {};
    for (const [name, value] of Object.entries(results)) out[name] = toHostTensor(value, name, this.file);
    return out;
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

function toTensorInfo(meta: InferenceSession.ValueMetadata): TensorInfo {
  return meta.isTensor
    ? { name: meta.name, type: meta.type, shape: meta.shape }
    : { name: meta.name, type: 'non-tensor', shape: [] };
}

function toHostTensor(tensor: InferenceSession.OnnxValueMapType[string], name: string, file: string): HostTensor {
  const dims = tensor.dims;
  const data: unknown = tensor.data;
  switch (tensor.type) {
    case 'float32':
      if (data instanceof Float32Array) return { type: 'float32', data, dims };
      break;
    case 'float16':
      // Raw bits; a runtime with Float16Array may hand one over: reinterpret, never convert twice.
      if (ArrayBuffer.isView(data)) {
        return { type: 'float16', data: new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2), dims };
      }
      break;
    case 'int32':
      if (data instanceof Int32Array) return { type: 'int32', data, dims };
      break;
    case 'int64':
      if (data instanceof BigInt64Array) return { type: 'int64', data, dims };
      break;
  }
  const reason = `Output "${name}" of ${file} has type ${tensor.type}, which dreamcord cannot read`;
  throw new PipelineError('MODEL_UNSUPPORTED', reason, { file });
}
