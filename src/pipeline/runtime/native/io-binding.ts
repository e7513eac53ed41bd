import { isConstantTensor, type HostTensor } from '../tensor.js';
import { check, type Handle, type OrtCApi } from './c-api.js';
import { createValue, keepBoundOutputs, memoryInfo, shapeKey, toHost, writeValue } from './values.js';

/**
 * Idle bindings kept per session: one per job that runs at once, one per conditioning group of a job, one per run of
 * a batch's step (a batch cut into runs of at most its rows).
 */
const IDLE_BINDINGS = 4;

/** An input as a binding holds it: the tensor last fed, and the tensor of ONNX Runtime's bound for it. */
interface BoundInput {
  readonly tensor: HostTensor;
  readonly value: Handle;
  readonly type: string;
  readonly dims: string;
}

/** A call of ONNX Runtime's run through a binding (`RunWithBinding`), with the run options of the call. */
export type BindingRun = (binding: Handle) => Promise<void>;

/**
 * One `OrtIoBinding` and what is bound to it. Bindings are used by one run at a time (ONNX Runtime's sessions run
 * concurrently; a binding does not), so a session keeps a few.
 */
class Binding {
  readonly handle: Handle;
  readonly inputs = new Map<string, BoundInput>();
  /** Outputs allocated by the first run of a shape, bound for the next runs of that shape. */
  readonly outputs = new Map<string, Handle>();
  /** The feeds' shapes and outputs the bound outputs were allocated for. */
  outputKey = '';

  constructor(readonly api: OrtCApi, session: Handle) {
    const out = [null];
    check(api, api.fn.CreateIoBinding(session, out));
    this.handle = out[0];
  }

  /** Whether every constant tensor of `feeds` is the one bound here (so none is bound again). */
  holdsConstants(feeds: Readonly<Record<string, HostTensor>>): boolean {
    return Object.entries(feeds).every(([name, tensor]) => !isConstantTensor(tensor) || this.inputs.get(name)?.tensor === tensor);
  }

  release(): void {
    for (const { value } of this.inputs.values()) this.api.fn.ReleaseValue(value);
    this.#releaseOutputs();
    this.api.fn.ReleaseIoBinding(this.handle);
  }

  /**
   * Binds `feeds`: a {@link isConstantTensor constant} tensor bound before stays as it is (ONNX Runtime keeps the
   * copy it made when it was bound: on CUDA that copy is on the GPU); every other input is written into the tensor
   * bound for it before (or a new one, for a new type or shape) and bound again.
   */
  bindInputs(allocator: Handle, feeds: Readonly<Record<string, HostTensor>>): void {
    const { fn } = this.api;
    for (const [name, tensor] of Object.entries(feeds)) {
      const bound = this.inputs.get(name);
      if (bound?.tensor === tensor && isConstantTensor(tensor)) continue;
      const dims = tensor.dims.join(',');
      let value = bound?.type === tensor.type && bound.dims === dims ? bound.value : undefined;
      if (value === undefined) {
        if (bound) fn.ReleaseValue(bound.value);
        this.inputs.delete(name);
        value = createValue(this.api, allocator, tensor);
      }
      this.inputs.set(name, { tensor, value, type: tensor.type, dims });
      writeValue(this.api, value, tensor);
      check(this.api, fn.BindInput(this.handle, name, value));
    }
  }

  /**
   * Binds the outputs `wanted`: to the tensors a previous run with the same input shapes allocated (ONNX Runtime
   * writes into them), else to host memory of ONNX Runtime's allocation (kept after the run by {@link keepOutputs}).
   */
  bindOutputs(feeds: Readonly<Record<string, HostTensor>>, wanted: readonly string[], memoryInfo: Handle): void {
    const key = shapeKey(feeds, wanted);
    if (key === this.outputKey) return;
    this.#releaseOutputs();
    this.api.fn.ClearBoundOutputs(this.handle);
    for (const name of wanted) check(this.api, this.api.fn.BindOutputToDevice(this.handle, name, memoryInfo));
    this.outputKey = key;
  }

  /** After the first run of a shape: keeps the outputs ONNX Runtime allocated and binds them for the next runs. */
  keepOutputs(wanted: readonly string[]): void {
    if (this.outputs.size === 0) keepBoundOutputs(this.api, this.handle, wanted, this.outputs);
  }

  #releaseOutputs(): void {
    for (const value of this.outputs.values()) this.api.fn.ReleaseValue(value);
    this.outputs.clear();
    this.outputKey = '';
  }
}

/**
 * Runs of one bridged session through ONNX Runtime's IoBinding (`CreateIoBinding`, `BindInput`, `BindOutput`,
 * `RunWithBinding`, `GetBoundOutputValues`), for a model fed the same large inputs at every run: the UNet, whose
 * text conditioning (and SDXL's added conditioning) stays the same for every step of a job, or of a batch of jobs
 * (their rows joined). Such inputs, declared by {@link isConstantTensor}, are bound once per job or batch rather than
 * handed over at every step; the other inputs are written into tensors kept bound from step to step; the outputs are
 * allocated by the first run of a shape and written in place by the next ones.
 */
export class IoBindingRuns {
  readonly #api: OrtCApi;
  readonly #session: Handle;
  readonly #allocator: Handle;
  readonly #file: string;
  readonly #memoryInfo: Handle;
  /** Bindings not in use, the most recently used last. */
  readonly #idle: Binding[] = [];

  constructor(api: OrtCApi, session: Handle, allocator: Handle, file: string) {
    this.#api = api;
    this.#session = session;
    this.#allocator = allocator;
    this.#file = file;
    this.#memoryInfo = memoryInfo(api, 'cpu');
  }

  /**
   * Runs the model on `feeds` through a binding that holds their constant tensors when one does, and returns host
   * copies of the outputs `wanted`. `run` makes the call itself (the session's run options go there).
   */
  async run(feeds: Readonly<Record<string, HostTensor>>, wanted: readonly string[], run: BindingRun): Promise<Record<string, HostTensor>> {
    const binding = this.#take(feeds);
    try {
      binding.bindInputs(this.#allocator, feeds);
      binding.bindOutputs(feeds, wanted, this.#memoryInfo);
      await run(binding.handle);
      binding.keepOutputs(wanted);
      const out: Record<string, HostTensor> = {};
      for (const name of wanted) {
        const value = binding.outputs.get(name);
        if (value === undefined) throw new Error(`ONNX Runtime bound no output "${name}" of ${this.#file}`);
        out[name] = toHost(this.#api, value, name, this.#file);
      }
      this.#give(binding);
      return out;
    } catch (error) {
      // A binding whose run failed may hold anything: it is not used again.
      binding.release();
      throw error;
    }
  }

  release(): void {
    for (const binding of this.#idle.splice(0)) binding.release();
    this.#api.fn.ReleaseMemoryInfo(this.#memoryInfo);
  }

  /**
   * An idle binding holding `feeds`' constants, else a new one while fewer than {@link IDLE_BINDINGS} are idle, else
   * the least recently used: runs that take turns (a batch's step cut into runs) each keep their own constants bound.
   */
  #take(feeds: Readonly<Record<string, HostTensor>>): Binding {
    let index = this.#idle.findLastIndex((binding) => binding.holdsConstants(feeds));
    if (index < 0 && this.#idle.length >= IDLE_BINDINGS) index = 0;
    const [binding] = index < 0 ? [] : this.#idle.splice(index, 1);
    return binding ?? new Binding(this.#api, this.#session);
  }

  #give(binding: Binding): void {
    this.#idle.push(binding);
    if (this.#idle.length > IDLE_BINDINGS) this.#idle.shift()?.release();
  }
}
