import { PipelineError } from '../../errors.js';
import type { SessionBackend } from '../session-backend.js';
import type { HostTensor, TensorInfo } from '../tensor.js';
import { check, LOG_ERROR, type Handle, type OrtCApi } from './c-api.js';

/** How {@link createNativeSession} creates a session. */
export interface NativeSessionOptions {
  /** `cuda` appends the CUDA provider with {@link NativeSessionOptions.cudaOptions}; `cpu` uses ONNX Runtime's own. */
  readonly provider: 'cpu' | 'cuda';
  /** Session configuration entries (`session.use_device_allocator_for_initializers` …), as the plain binding's `extra`. */
  readonly config: Readonly<Record<string, string>>;
  /** CUDA provider options V2 by name (`cudnn_conv_algo_search` …), for `cuda`. */
  readonly cudaOptions?: Readonly<Record<string, string>>;
  /** Where to save ONNX Runtime's optimized graph, as the plain binding's `optimizedModelFilePath`. */
  readonly optimizedModelFilePath?: string;
}

/** ONNX Runtime's element types (`ONNXTensorElementDataType`) by the names onnxruntime-node gives them. */
const ELEMENT_TYPES: readonly (string | undefined)[] = [
  undefined, 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool', 'float16', 'float64',
  'uint32', 'uint64',
];

/** `ORT_ENABLE_ALL`, the plain binding's `graphOptimizationLevel: 'all'`. */
const OPTIMIZE_ALL = 99;

/** A koffi call on its worker thread, as a promise (session creation and runs take long: the event loop goes on). */
function callAsync(fn: { async(...args: unknown[]): void }, ...args: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // koffi reports a failed call (not ONNX Runtime's status, which is the result) as an Error.
    fn.async(...args, (error: Error | null, result: unknown) => (error ? reject(error) : resolve(result)));
  });
}

/**
 * Creates a session of the ONNX model at `file` through the C API.
 * @throws Error with ONNX Runtime's message when it cannot (the same messages the plain binding gives).
 */
export async function createNativeSession(api: OrtCApi, file: string, options: NativeSessionOptions): Promise<NativeSession> {
  const { fn } = api;
  const out = [null];
  check(api, fn.CreateSessionOptions(out));
  const sessionOptions = out[0];
  try {
    check(api, fn.SetSessionGraphOptimizationLevel(sessionOptions, OPTIMIZE_ALL));
    check(api, fn.SetSessionLogSeverityLevel(sessionOptions, LOG_ERROR));
    for (const [key, value] of Object.entries(options.config)) {
      check(api, fn.AddSessionConfigEntry(sessionOptions, key, value));
    }
    if (options.optimizedModelFilePath !== undefined) {
      check(api, fn.SetOptimizedModelFilePath(sessionOptions, options.optimizedModelFilePath));
    }
    if (options.provider === 'cuda') appendCuda(api, sessionOptions, options.cudaOptions ?? {});
    const session = [null];
    check(api, await callAsync(fn.CreateSession, api.env, file, sessionOptions, session));
    return new NativeSession(api, session[0], file);
  } finally {
    fn.ReleaseSessionOptions(sessionOptions);
  }
}

function appendCuda(api: OrtCApi, sessionOptions: Handle, cudaOptions: Readonly<Record<string, string>>): void {
  const out = [null];
  check(api, api.fn.CreateCUDAProviderOptions(out));
  try {
    const keys = Object.keys(cudaOptions);
    check(api, api.fn.UpdateCUDAProviderOptions(out[0], keys, Object.values(cudaOptions), keys.length));
    check(api, api.fn.SessionOptionsAppendExecutionProvider_CUDA_V2(sessionOptions, out[0]));
  } finally {
    api.fn.ReleaseCUDAProviderOptions(out[0]);
  }
}

/**
 * A session created through the C API: host tensors in, host tensors out, as the plain binding's, so that the
 * pipeline cannot tell which one runs.
 */
export class NativeSession implements SessionBackend {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly #api: OrtCApi;
  #session: Handle;
  /** ONNX Runtime's default CPU allocator: names it hands over and input tensors are allocated with it. */
  readonly #allocator: Handle;

  /** @internal Use {@link createNativeSession}. */
  constructor(
    api: OrtCApi,
    session: Handle,
    /** The model file (for messages). */
    readonly file: string,
  ) {
    this.#api = api;
    this.#session = session;
    const out = [null];
    check(api, api.fn.GetAllocatorWithDefaultOptions(out));
    this.#allocator = out[0];
    this.inputs = this.#describe('Input');
    this.outputs = this.#describe('Output');
  }

  async run(feeds: Readonly<Record<string, HostTensor>>, outputs?: readonly string[]): Promise<Record<string, HostTensor>> {
    const { fn } = this.#api;
    const names = Object.keys(feeds);
    const values: Handle[] = [];
    const wanted = outputs ?? this.outputs.map((output) => output.name);
    const results: Handle[] = wanted.map(() => null);
    try {
      for (const tensor of Object.values(feeds)) values.push(this.#toValue(tensor));
      const status = await callAsync(fn.Run, this.#session, null, names, values, names.length, wanted, wanted.length, results);
      check(this.#api, status);
      const out: Record<string, HostTensor> = {};
      for (const [i, name] of wanted.entries()) out[name] = this.#toHost(results[i], name);
      return out;
    } finally {
      for (const value of [...values, ...results]) if (value !== null) fn.ReleaseValue(value);
    }
  }

  release(): Promise<void> {
    if (this.#session !== null) this.#api.fn.ReleaseSession(this.#session);
    this.#session = null;
    return Promise.resolve();
  }

  /** The graph's inputs or outputs, as onnxruntime-node's metadata names them (symbolic dimensions by name). */
  #describe(kind: 'Input' | 'Output'): TensorInfo[] {
    const { fn } = this.#api;
    const count = [0];
    check(this.#api, fn[`SessionGet${kind}Count`](this.#session, count));
    return Array.from({ length: Number(count[0]) }, (_, index) => {
      const namePointer = [null];
      check(this.#api, fn[`SessionGet${kind}Name`](this.#session, index, this.#allocator, namePointer));
      const name = this.#api.string(namePointer[0]);
      check(this.#api, fn.AllocatorFree(this.#allocator, namePointer[0]));
      const typeInfo = [null];
      check(this.#api, fn[`SessionGet${kind}TypeInfo`](this.#session, index, typeInfo));
      try {
        const tensorInfo = [null];
        check(this.#api, fn.CastTypeInfoToTensorInfo(typeInfo[0], tensorInfo));
        if (tensorInfo[0] === null) return { name, type: 'non-tensor', shape: [] };
        const { type, dims, symbols } = this.#typeAndShape(tensorInfo[0]);
        const shape = dims.map((dim, i) => (dim < 0 && symbols[i] ? symbols[i] : dim));
        return { name, type, shape };
      } finally {
        fn.ReleaseTypeInfo(typeInfo[0]);
      }
    });
  }

  #typeAndShape(info: Handle): { type: string; dims: number[]; symbols: string[] } {
    const { fn } = this.#api;
    const type = [0];
    check(this.#api, fn.GetTensorElementType(info, type));
    const rank = [0];
    check(this.#api, fn.GetDimensionsCount(info, rank));
    const dims = new BigInt64Array(Number(rank[0]));
    check(this.#api, fn.GetDimensions(info, dims, dims.length));
    const symbols: (string | null)[] = Array.from({ length: dims.length }, () => null);
    check(this.#api, fn.GetSymbolicDimensions(info, symbols, symbols.length));
    return {
      type: ELEMENT_TYPES[Number(type[0])] ?? `element type ${type[0]}`,
      dims: Array.from(dims, Number),
      symbols: symbols.map((symbol) => symbol ?? ''),
    };
  }

  /** A CPU tensor of ONNX Runtime's holding a copy of `tensor` (released by the caller). */
  #toValue(tensor: HostTensor): Handle {
    const { fn } = this.#api;
    const type = ELEMENT_TYPES.indexOf(tensor.type);
    const out = [null];
    const shape = BigInt64Array.from(tensor.dims, BigInt);
    check(this.#api, fn.CreateTensorAsOrtValue(this.#allocator, shape, shape.length, type, out));
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    if (bytes.length > 0) new Uint8Array(this.#api.view(this.#data(out[0]), bytes.length)).set(bytes);
    return out[0];
  }

  #data(value: Handle): Handle {
    const data = [null];
    check(this.#api, this.#api.fn.GetTensorMutableData(value, data));
    return data[0];
  }

  /** A host copy of the output tensor `value`. */
  #toHost(value: Handle, name: string): HostTensor {
    const info = [null];
    check(this.#api, this.#api.fn.GetTensorTypeAndShape(value, info));
    let described: { type: string; dims: number[] };
    try {
      described = this.#typeAndShape(info[0]);
    } finally {
      this.#api.fn.ReleaseTensorTypeAndShapeInfo(info[0]);
    }
    const { type, dims } = described;
    const length = dims.reduce((a, b) => a * b, 1);
    const read = <T>(make: (buffer: ArrayBuffer) => T, bytesPer: number): T =>
      make(length === 0 ? new ArrayBuffer(0) : this.#api.view(this.#data(value), length * bytesPer).slice(0));
    switch (type) {
      case 'float32':
        return { type: 'float32', dims, data: read((b) => new Float32Array(b), 4) };
      case 'float16':
        return { type: 'float16', dims, data: read((b) => new Uint16Array(b), 2) };
      case 'int32':
        return { type: 'int32', dims, data: read((b) => new Int32Array(b), 4) };
      case 'int64':
        return { type: 'int64', dims, data: read((b) => new BigInt64Array(b), 8) };
      default: {
        const reason = `Output "${name}" of ${this.file} has type ${type}, which dreamcord cannot read`;
        throw new PipelineError('MODEL_UNSUPPORTED', reason, { file: this.file });
      }
    }
  }
}
