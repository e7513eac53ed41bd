import type { PipelineLogger } from '../../logger.js';
import { isConstantTensor, type HostTensor } from '../tensor.js';
import { check, type Handle, type OrtCApi } from './c-api.js';
import { DeviceCopier } from './device-copy.js';
import type { OpenOptions } from './open-session.js';
import { createValue, keepBoundOutputs, memoryInfo, shapeKey } from './values.js';

/**
 * Shapes kept per session, each with its buffers and (on CUDA) its captured graph: a bot draws at a few sizes. A
 * run of another shape runs without them, said once in the log.
 */
export const MAX_SHAPES = 4;

/** How a session's runs are called: ONNX Runtime's `RunWithBinding` with these run options. */
export type ResidentRun = (binding: Handle, runOptions: Handle) => Promise<void>;

/** The buffers of one shape of feeds, and the binding and run options that run them. */
interface Shape {
  readonly binding: Handle;
  readonly runOptions: Handle;
  /** Each input's buffer in the provider's memory, and the constant tensor last copied into it. */
  readonly inputs: Map<string, { readonly value: Handle; constant?: HostTensor }>;
  /** Each output's buffer in the provider's memory, allocated by the shape's first run. */
  readonly outputs: Map<string, Handle>;
  /** The run before this one, which the next waits for (the buffers serve one run at a time). */
  queue: Promise<void>;
}

/** How {@link DeviceResidentRuns} runs a session. */
export interface DeviceResidentOptions extends OpenOptions {
  /**
   * Capture a CUDA graph per shape (`gpu_graph_id` run option; the session created with `enable_cuda_graph`) and
   * replay it at the next runs of that shape. Without it (the CPU, for tests) the buffers are kept all the same.
   */
  readonly graphs: boolean;
  readonly log?: PipelineLogger;
}

/**
 * Runs of a session on buffers that stay in the memory its provider computes in (the GPU's on CUDA), one set per
 * shape of feeds: every input is copied into its buffer (a {@link isConstantTensor constant} one once per job), every
 * output is written into its buffer and copied back. That is what ONNX Runtime's CUDA graphs need (a replay runs the
 * captured kernels on the captured addresses, without looking at the feeds); each shape gets its own graph id.
 */
export class DeviceResidentRuns {
  readonly #api: OrtCApi;
  readonly #session: Handle;
  readonly #file: string;
  readonly #options: DeviceResidentOptions;
  readonly #memory: Handle;
  readonly #allocator: Handle;
  readonly #copier: DeviceCopier;
  readonly #shapes = new Map<string, Shape>();
  readonly #refused = new Set<string>();

  constructor(api: OrtCApi, session: Handle, file: string, options: DeviceResidentOptions) {
    this.#api = api;
    this.#session = session;
    this.#file = file;
    this.#options = options;
    this.#memory = memoryInfo(api, options.provider);
    const out = [null];
    check(api, api.fn.CreateAllocator(session, this.#memory, out));
    this.#allocator = out[0];
    this.#copier = new DeviceCopier(api, options);
  }

  /**
   * Runs `feeds` on the buffers of their shape (made at its first run); host copies of the outputs `wanted`.
   * Undefined, without running, when the shape has no buffers and cannot get them (more than {@link MAX_SHAPES}): the
   * caller runs it another way, and the log says so once per shape.
   */
  async run(feeds: Readonly<Record<string, HostTensor>>, wanted: readonly string[], run: ResidentRun): Promise<Record<string, HostTensor> | undefined> {
    const shape = this.#shape(feeds, wanted);
    if (!shape) return undefined;
    const previous = shape.queue;
    let done = (): void => undefined;
    shape.queue = new Promise((resolve) => (done = resolve));
    await previous;
    try {
      for (const [name, tensor] of Object.entries(feeds)) {
        const input = shape.inputs.get(name);
        if (!input) throw new Error(`${this.#file}: no buffer for input ${name}`);
        if (isConstantTensor(tensor) && input.constant === tensor) continue;
        await this.#copier.toDevice(tensor, input.value);
        input.constant = isConstantTensor(tensor) ? tensor : undefined;
      }
      await run(shape.binding, shape.runOptions);
      if (shape.outputs.size === 0) keepBoundOutputs(this.#api, shape.binding, wanted, shape.outputs);
      const out: Record<string, HostTensor> = {};
      for (const [name, value] of shape.outputs) out[name] = await this.#copier.toHost(value, name, this.#file);
      return out;
    } finally {
      done();
    }
  }

  async release(): Promise<void> {
    const { fn } = this.#api;
    for (const shape of this.#shapes.values()) {
      await shape.queue;
      for (const { value } of shape.inputs.values()) fn.ReleaseValue(value);
      for (const value of shape.outputs.values()) fn.ReleaseValue(value);
      fn.ReleaseIoBinding(shape.binding);
      if (shape.runOptions !== null) fn.ReleaseRunOptions(shape.runOptions);
    }
    this.#shapes.clear();
    await this.#copier.release();
    fn.ReleaseAllocator(this.#allocator);
    fn.ReleaseMemoryInfo(this.#memory);
  }

  /**
   * The buffers of the feeds' shape: at its first run, allocated in the provider's memory and bound; undefined
   * beyond {@link MAX_SHAPES}.
   */
  #shape(feeds: Readonly<Record<string, HostTensor>>, wanted: readonly string[]): Shape | undefined {
    const key = shapeKey(feeds, wanted);
    const known = this.#shapes.get(key);
    if (known) return known;
    if (this.#shapes.size >= MAX_SHAPES) {
      this.#refuse(key, feeds);
      return undefined;
    }
    const { fn } = this.#api;
    const out = [null];
    check(this.#api, fn.CreateIoBinding(this.#session, out));
    const binding = out[0];
    const inputs = new Map<string, { value: Handle; constant?: HostTensor }>();
    for (const [name, tensor] of Object.entries(feeds)) {
      const value = createValue(this.#api, this.#allocator, tensor);
      inputs.set(name, { value });
      check(this.#api, fn.BindInput(binding, name, value));
    }
    for (const name of wanted) check(this.#api, fn.BindOutputToDevice(binding, name, this.#memory));
    let runOptions: Handle = null;
    if (this.#options.graphs) {
      check(this.#api, fn.CreateRunOptions(out));
      runOptions = out[0];
      // Graph ids from 1: a run without one would capture graph 0 (see NativeSession's `gpu_graph_id` -1).
      check(this.#api, fn.AddRunConfigEntry(runOptions, 'gpu_graph_id', String(this.#shapes.size + 1)));
    }
    const shape: Shape = { binding, runOptions, inputs, outputs: new Map(), queue: Promise.resolve() };
    this.#shapes.set(key, shape);
    return shape;
  }

  /** Says once per shape (`key`) that its runs go without buffers of their own. */
  #refuse(key: string, feeds: Readonly<Record<string, HostTensor>>): void {
    if (this.#refused.has(key)) return;
    this.#refused.add(key);
    const shapes = Object.fromEntries(Object.entries(feeds).map(([name, tensor]) => [name, tensor.dims.join('×')]));
    this.#options.log?.('warn', `a model run of a new shape beyond the ${MAX_SHAPES} kept on the device runs without CUDA graphs`, {
      file: this.#file,
      shapes,
    });
  }
}
