import type { SessionBackend } from '../session-backend.js';
import type { RunClock } from '../session.js';
import { isConstantTensor, type HostTensor, type TensorInfo } from '../tensor.js';
import { check, LOG_ERROR, type Handle, type OrtCApi } from './c-api.js';
import { IoBindingRuns } from './io-binding.js';
import { toHost, toValue, typeAndShape } from './values.js';

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
  /**
   * Runs fed a {@link isConstantTensor constant} tensor go through ONNX Runtime's IoBinding (`io-binding.ts`): the
   * constant inputs bound once, the outputs allocated once per shape. @default true
   */
  readonly ioBinding?: boolean;
}

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
    return new NativeSession(api, session[0], file, options.ioBinding ?? true);
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
  /** Runs through IoBinding, when asked for. */
  readonly #bound: IoBindingRuns | undefined;

  /** @internal Use {@link createNativeSession}. */
  constructor(
    api: OrtCApi,
    session: Handle,
    /** The model file (for messages). */
    readonly file: string,
    ioBinding: boolean,
  ) {
    this.#api = api;
    this.#session = session;
    const out = [null];
    check(api, api.fn.GetAllocatorWithDefaultOptions(out));
    this.#allocator = out[0];
    this.inputs = this.#describe('Input');
    this.outputs = this.#describe('Output');
    this.#bound = ioBinding ? new IoBindingRuns(api, session, this.#allocator, file) : undefined;
  }

  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    outputs?: readonly string[],
    clock?: RunClock,
  ): Promise<Record<string, HostTensor>> {
    const wanted = outputs ?? this.outputs.map((output) => output.name);
    const timed = async (call: Promise<unknown>): Promise<void> => {
      const start = performance.now();
      const status = await call;
      if (clock) clock.runCallMs = (clock.runCallMs ?? 0) + performance.now() - start;
      check(this.#api, status);
    };
    if (this.#bound && Object.values(feeds).some(isConstantTensor)) {
      return this.#bound.run(feeds, wanted, (binding) => timed(callAsync(this.#api.fn.RunWithBinding, this.#session, null, binding)));
    }
    const { fn } = this.#api;
    const names = Object.keys(feeds);
    const values: Handle[] = [];
    const results: Handle[] = wanted.map(() => null);
    try {
      for (const tensor of Object.values(feeds)) values.push(toValue(this.#api, this.#allocator, tensor));
      await timed(callAsync(fn.Run, this.#session, null, names, values, names.length, wanted, wanted.length, results));
      const out: Record<string, HostTensor> = {};
      for (const [i, name] of wanted.entries()) out[name] = toHost(this.#api, results[i], name, this.file);
      return out;
    } finally {
      for (const value of [...values, ...results]) if (value !== null) fn.ReleaseValue(value);
    }
  }

  release(): Promise<void> {
    this.#bound?.release();
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
        const { type, dims, symbols } = typeAndShape(this.#api, tensorInfo[0]);
        const shape = dims.map((dim, i) => (dim < 0 && symbols[i] ? symbols[i] : dim));
        return { name, type, shape };
      } finally {
        fn.ReleaseTypeInfo(typeInfo[0]);
      }
    });
  }
}
