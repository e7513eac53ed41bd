import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { PipelineError } from '../errors.js';
import type { SessionBackend } from './session-backend.js';
import type { HostTensor, TensorInfo } from './tensor.js';

/** A session of onnxruntime-node's binding, as a {@link SessionBackend}. */
export class BindingSession implements SessionBackend {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly #session: InferenceSession;

  constructor(
    session: InferenceSession,
    /** The model file (for messages). */
    readonly file: string,
  ) {
    this.#session = session;
    this.inputs = session.inputMetadata.map(toTensorInfo);
    this.outputs = session.outputMetadata.map(toTensorInfo);
  }

  async run(feeds: Readonly<Record<string, HostTensor>>, outputs?: readonly string[]): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, Tensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) {
      ortFeeds[name] = new Tensor(tensor.type, tensor.data, tensor.dims);
    }
    const results = await (outputs ? this.#session.run(ortFeeds, [...outputs]) : this.#session.run(ortFeeds));
    const out: Record<string, HostTensor> = {};
    for (const [name, value] of Object.entries(results)) out[name] = toHostTensor(value, name, this.file);
    return out;
  }

  release(): Promise<void> {
    return this.#session.release();
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
