import type { PipelineLogger } from '../../logger.js';
import type { SessionBackend } from '../session-backend.js';
import type { RunClock } from '../session.js';
import { constantScope, isConstantTensor, type HostTensor, type TensorInfo } from '../tensor.js';
import { check, type Handle, type OrtCApi } from './c-api.js';
import { DeviceResidentRuns, type DeviceResidentOptions } from './device-runs.js';
import { IoBindingRuns } from './io-binding.js';
import { CallThread } from './call-thread.js';
import { openSession, type OpenOptions } from './open-session.js';
import { toHost, toValue, typeAndShape } from './values.js';

/** How {@link createNativeSession} creates a session and runs it. */
export interface NativeSessionOptions extends OpenOptions {
  /**
   * Runs fed a {@link isConstantTensor constant} tensor go through ONNX Runtime's IoBinding (`io-binding.ts`): the
   * constant inputs bound once, the outputs allocated once per shape. @default true
   */
  readonly ioBinding?: boolean;
  /**
   * On CUDA: the session is created with `enable_cuda_graph`, and runs fed a constant tensor of a job (a job's steps)
   * run on buffers kept on the GPU (`device-runs.ts`), one CUDA graph captured per shape and replayed; other runs (a
   * batch's among them) run without graphs. @default false
   */
  readonly cudaGraphs?: boolean;
  /**
   * Runs fed a constant tensor run on buffers kept in the provider's memory, as with {@link cudaGraphs} but without
   * graphs: how the CPU tests that machinery. @default false
   */
  readonly deviceResident?: boolean;
  /** Receives the line of a run refused its CUDA graph. */
  readonly log?: PipelineLogger;
}

/**
 * Creates a session of the ONNX model at `file` through the C API, with a thread of its own that creates and runs it
 * (see {@link CallThread}).
 * @throws Error with ONNX Runtime's message when it cannot (the same messages the plain binding gives).
 */
export async function createNativeSession(api: OrtCApi, file: string, options: NativeSessionOptions): Promise<NativeSession> {
  const graphs = options.provider === 'cuda' && options.cudaGraphs === true;
  const cudaOptions = graphs ? { ...options.cudaOptions, enable_cuda_graph: '1' } : options.cudaOptions;
  const openOptions = { ...options, ...(cudaOptions ? { cudaOptions } : {}) };
  const thread = await CallThread.take(api);
  let session: Handle;
  try {
    session = await openSession(api, thread.call, file, openOptions);
  } catch (error) {
    await thread.close();
    throw error;
  }
  const resident = graphs || options.deviceResident === true ? { ...openOptions, graphs, ...(options.log ? { log: options.log } : {}) } : undefined;
  return new NativeSession(api, session, thread, file, { ioBinding: options.ioBinding ?? true, resident });
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
  /** The thread every run of the session is made on. */
  readonly #thread: CallThread;
  /** ONNX Runtime's default CPU allocator: names it hands over and input tensors are allocated with it. */
  readonly #allocator: Handle;
  /** Runs through IoBinding, when asked for. */
  readonly #bound: IoBindingRuns | undefined;
  /** Runs on buffers kept in the provider's memory (CUDA graphs), when asked for and until one fails. */
  #resident: DeviceResidentRuns | undefined;
  readonly #log: PipelineLogger | undefined;
  /** The run options of every other run: on a session with CUDA graphs, `gpu_graph_id` -1 (no graph). */
  readonly #runOptions: Handle = null;

  /** @internal Use {@link createNativeSession}. */
  constructor(
    api: OrtCApi,
    session: Handle,
    thread: CallThread,
    /** The model file (for messages). */
    readonly file: string,
    runs: { readonly ioBinding: boolean; readonly resident: DeviceResidentOptions | undefined },
  ) {
    this.#api = api;
    this.#session = session;
    this.#thread = thread;
    const out = [null];
    check(api, api.fn.GetAllocatorWithDefaultOptions(out));
    this.#allocator = out[0];
    this.inputs = this.#describe('Input');
    this.outputs = this.#describe('Output');
    this.#bound = runs.ioBinding ? new IoBindingRuns(api, session, this.#allocator, file) : undefined;
    this.#resident = runs.resident ? new DeviceResidentRuns(api, session, file, runs.resident) : undefined;
    this.#log = runs.resident?.log;
    if (runs.resident?.graphs) {
      check(api, api.fn.CreateRunOptions(out));
      this.#runOptions = out[0];
      // A run of a session with CUDA graphs that gives no graph id captures graph 0; -1 runs it as it is.
      check(api, api.fn.AddRunConfigEntry(this.#runOptions, 'gpu_graph_id', '-1'));
    }
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
    const { call } = this.#thread;
    if (Object.values(feeds).some(isConstantTensor)) {
      // A batch's runs go through IoBinding, not the device buffers: each row count of each size would take one of
      // the few shapes kept there (and, on CUDA, a graph and its memory).
      const resident = Object.values(feeds).some((tensor) => constantScope(tensor) === 'batch') ? undefined : this.#resident;
      if (resident) {
        try {
          const out = await resident.run(feeds, wanted, (binding, runOptions) => timed(call('RunWithBinding', this.#session, runOptions, binding)));
          if (out) return out; // else a shape beyond those kept on the device
        } catch (error) {
          // A graph ONNX Runtime cannot capture or replay would fail every job: the session goes on without graphs
          // (this run is tried again that way, so an error of the run itself still reaches the caller).
          this.#resident = undefined;
          const reason = error instanceof Error ? error.message : String(error);
          this.#log?.('warn', 'a run on the device buffers of CUDA graphs failed; this model runs without them from now on', { file: this.file, reason });
          await resident.release().catch(() => undefined);
        }
      }
      if (this.#bound) {
        return this.#bound.run(feeds, wanted, (binding) => timed(call('RunWithBinding', this.#session, this.#runOptions, binding)));
      }
    }
    const names = Object.keys(feeds);
    const values: Handle[] = [];
    const results: Handle[] = wanted.map(() => null);
    try {
      for (const tensor of Object.values(feeds)) values.push(toValue(this.#api, this.#allocator, tensor));
      await timed(call('Run', this.#session, this.#runOptions, names, values, names.length, wanted, wanted.length, results));
      const out: Record<string, HostTensor> = {};
      for (const [i, name] of wanted.entries()) out[name] = toHost(this.#api, results[i], name, this.file);
      return out;
    } finally {
      for (const value of [...values, ...results]) if (value !== null) this.#api.fn.ReleaseValue(value);
    }
  }

  async release(): Promise<void> {
    await this.#thread.settled();
    this.#bound?.release();
    await this.#resident?.release();
    if (this.#runOptions !== null) this.#api.fn.ReleaseRunOptions(this.#runOptions);
    if (this.#session !== null) this.#api.fn.ReleaseSession(this.#session);
    this.#session = null;
    await this.#thread.close();
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
