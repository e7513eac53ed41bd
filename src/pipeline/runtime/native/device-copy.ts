import type { HostTensor } from '../tensor.js';
import { check, type Handle, type OrtCApi } from './c-api.js';
import { callHere } from './call-thread.js';
import { openSession, type OpenOptions } from './open-session.js';
import { boundOutputValues, describeValue, elementTypeNumber, memoryInfo, toHost, toValue } from './values.js';

/**
 * Copies between host tensors and tensors in the memory a session runs in (the GPU's, on CUDA), writing into
 * buffers that stay where they are: what CUDA graphs need, since a graph replays its kernels on the addresses it was
 * captured with. ONNX Runtime 1.29's C API has one call for copies between devices, `CopyTensors`, but it takes only
 * the data transfers of providers registered with the environment as plugin libraries, which is not how the CUDA
 * provider is loaded here; so a one-node model (`Identity`) on the session's provider does it, through IoBinding: to
 * the device with the host tensor bound as its input (ONNX Runtime copies it over) and the device buffer bound as its
 * output (written in place), back with the device buffer as its input and its output bound to host memory.
 */
export class DeviceCopier {
  readonly #api: OrtCApi;
  readonly #options: OpenOptions;
  readonly #allocator: Handle;
  readonly #hostMemory: Handle;
  /** One copy session per element type, made on its first use. */
  readonly #sessions = new Map<string, Promise<Handle>>();

  /** @param options - how the copy sessions are created: the provider of the session whose buffers they fill. */
  constructor(api: OrtCApi, options: OpenOptions) {
    this.#api = api;
    // The copies themselves run as they are: a graph would replay the first copy's addresses.
    const cudaOptions = Object.fromEntries(Object.entries(options.cudaOptions ?? {}).filter(([key]) => key !== 'enable_cuda_graph'));
    this.#options = { provider: options.provider, config: {}, cudaOptions };
    const out = [null];
    check(api, api.fn.GetAllocatorWithDefaultOptions(out));
    this.#allocator = out[0];
    this.#hostMemory = memoryInfo(api, 'cpu');
  }

  /** Copies `tensor` into `target`, a tensor of its type and shape in the session's memory. */
  async toDevice(tensor: HostTensor, target: Handle): Promise<void> {
    const host = toValue(this.#api, this.#allocator, tensor);
    try {
      await this.#copy(tensor.type, host, (binding) => check(this.#api, this.#api.fn.BindOutput(binding, 'y', target)));
    } finally {
      this.#api.fn.ReleaseValue(host);
    }
  }

  /** A host copy of `source`, a tensor in the session's memory: output `name` of `file` (for messages). */
  async toHost(source: Handle, name: string, file: string): Promise<HostTensor> {
    const { fn } = this.#api;
    let tensor: HostTensor | undefined;
    await this.#copy(
      describeValue(this.#api, source).type,
      source,
      (binding) => check(this.#api, fn.BindOutputToDevice(binding, 'y', this.#hostMemory)),
      (binding) => {
        const [value] = boundOutputValues(this.#api, binding);
        try {
          tensor = toHost(this.#api, value, name, file);
        } finally {
          if (value !== undefined) fn.ReleaseValue(value);
        }
      },
    );
    if (tensor === undefined) throw new Error(`the copy of ${name} of ${file} to the host gave nothing`);
    return tensor;
  }

  async release(): Promise<void> {
    const sessions = await Promise.allSettled(this.#sessions.values());
    for (const session of sessions) if (session.status === 'fulfilled') this.#api.fn.ReleaseSession(session.value);
    this.#sessions.clear();
    this.#api.fn.ReleaseMemoryInfo(this.#hostMemory);
  }

  /** Runs the copy model of `type` with `input` bound as its input and its output bound by `bindOutput`. */
  async #copy(type: string, input: Handle, bindOutput: (binding: Handle) => void, afterRun?: (binding: Handle) => void): Promise<void> {
    const { fn } = this.#api;
    const session = await this.#session(type);
    const out = [null];
    check(this.#api, fn.CreateIoBinding(session, out));
    const binding = out[0];
    try {
      check(this.#api, fn.BindInput(binding, 'x', input));
      bindOutput(binding);
      // Called on this thread, not a call thread: a copy of a step's sample or prediction takes microseconds, and a
      // hop to another thread and back costs more than that (three copies per step of a CUDA graph's job).
      check(this.#api, fn.RunWithBinding(session, null, binding));
      afterRun?.(binding);
    } finally {
      fn.ReleaseIoBinding(binding);
    }
  }

  #session(type: string): Promise<Handle> {
    let session = this.#sessions.get(type);
    if (!session) {
      // Created here too: a one-node model's session takes milliseconds.
      session = openSession(this.#api, callHere(this.#api), identityModel(elementTypeNumber(type)), this.#options);
      this.#sessions.set(type, session);
    }
    return session;
  }
}

/**
 * The bytes of an ONNX model `y = Identity(x)` for tensors of element type `type` (any shape), written field by field
 * in protobuf's encoding (`onnx.proto`: ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto).
 */
export function identityModel(type: number): Uint8Array {
  const tensorType = message(1, varintField(1, type)); // TypeProto.tensor_type { elem_type }
  const valueInfo = (name: string): number[] => [...stringField(1, name), ...message(2, tensorType)];
  const node = [...stringField(1, 'x'), ...stringField(2, 'y'), ...stringField(4, 'Identity')];
  const graph = [...message(1, node), ...stringField(2, 'copy'), ...message(11, valueInfo('x')), ...message(12, valueInfo('y'))];
  const opset = varintField(2, 13); // OperatorSetIdProto { version: 13 } of the default domain
  return Uint8Array.from([...varintField(1, 8), ...message(7, graph), ...message(8, opset)]); // ir_version 8
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

function varintField(field: number, value: number): number[] {
  return [...varint(field * 8), ...varint(value)];
}

function message(field: number, bytes: readonly number[]): number[] {
  return [...varint(field * 8 + 2), ...varint(bytes.length), ...bytes];
}

function stringField(field: number, text: string): number[] {
  return message(field, [...new TextEncoder().encode(text)]);
}
