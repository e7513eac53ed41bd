import { PipelineError } from '../../errors.js';
import type { HostTensor } from '../tensor.js';
import { check, type Handle, type OrtCApi } from './c-api.js';

/** `OrtArenaAllocator` and `OrtMemTypeDefault`: memory as a provider allocates its own tensors. */
const ARENA_ALLOCATOR = 1;
const DEFAULT_MEMORY = 0;

/**
 * A new `OrtMemoryInfo` (released by the caller) of the memory `provider` computes in: the host's for the CPU,
 * GPU 0's for CUDA (as the bridge creates CUDA sessions, on device 0).
 */
export function memoryInfo(api: OrtCApi, provider: 'cpu' | 'cuda'): Handle {
  const out = [null];
  const status =
    provider === 'cuda'
      ? api.fn.CreateMemoryInfo('Cuda', ARENA_ALLOCATOR, 0, DEFAULT_MEMORY, out)
      : api.fn.CreateCpuMemoryInfo(ARENA_ALLOCATOR, DEFAULT_MEMORY, out);
  check(api, status);
  return out[0];
}

/** ONNX Runtime's element types (`ONNXTensorElementDataType`) by the names onnxruntime-node gives them. */
const ELEMENT_TYPES: readonly (string | undefined)[] = [
  undefined, 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool', 'float16', 'float64',
  'uint32', 'uint64',
];

/** ONNX Runtime's number (`ONNXTensorElementDataType`) of the element type onnxruntime-node calls `name`. */
export function elementTypeNumber(name: string): number {
  return ELEMENT_TYPES.indexOf(name);
}

/** An element type's name as onnxruntime-node gives it (`float32`), from ONNX Runtime's number. */
export function elementTypeName(type: number): string {
  return ELEMENT_TYPES[type] ?? `element type ${type}`;
}

/** The element type, dimensions and symbolic dimension names of an `OrtTensorTypeAndShapeInfo`. */
export function typeAndShape(api: OrtCApi, info: Handle): { type: string; dims: number[]; symbols: string[] } {
  const { fn } = api;
  const type = [0];
  check(api, fn.GetTensorElementType(info, type));
  const rank = [0];
  check(api, fn.GetDimensionsCount(info, rank));
  const dims = new BigInt64Array(Number(rank[0]));
  check(api, fn.GetDimensions(info, dims, dims.length));
  const symbols: (string | null)[] = Array.from({ length: dims.length }, () => null);
  check(api, fn.GetSymbolicDimensions(info, symbols, symbols.length));
  return { type: elementTypeName(Number(type[0])), dims: Array.from(dims, Number), symbols: symbols.map((symbol) => symbol ?? '') };
}

/** A new tensor of ONNX Runtime's of `tensor`'s type and shape, allocated by `allocator` (released by the caller). */
export function createValue(api: OrtCApi, allocator: Handle, tensor: HostTensor): Handle {
  const out = [null];
  const shape = BigInt64Array.from(tensor.dims, BigInt);
  check(api, api.fn.CreateTensorAsOrtValue(allocator, shape, shape.length, elementTypeNumber(tensor.type), out));
  return out[0];
}

/** Copies `tensor`'s values into the host tensor `value` (of its type and shape). */
export function writeValue(api: OrtCApi, value: Handle, tensor: HostTensor): void {
  const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  if (bytes.length > 0) new Uint8Array(api.view(dataOf(api, value), bytes.length)).set(bytes);
}

/** A host tensor of ONNX Runtime's holding a copy of `tensor` (released by the caller). */
export function toValue(api: OrtCApi, allocator: Handle, tensor: HostTensor): Handle {
  const value = createValue(api, allocator, tensor);
  writeValue(api, value, tensor);
  return value;
}

function dataOf(api: OrtCApi, value: Handle): Handle {
  const data = [null];
  check(api, api.fn.GetTensorMutableData(value, data));
  return data[0];
}

/**
 * The outputs of the last run through the IoBinding `binding`, in the order they were bound (`GetBoundOutputValues`;
 * each released by the caller).
 */
export function boundOutputValues(api: OrtCApi, binding: Handle): Handle[] {
  const allocator = [null];
  check(api, api.fn.GetAllocatorWithDefaultOptions(allocator));
  const array = [null];
  const count = [0];
  check(api, api.fn.GetBoundOutputValues(binding, allocator[0], array, count));
  if (array[0] === null) return [];
  const values = api.pointers(array[0], Number(count[0]));
  check(api, api.fn.AllocatorFree(allocator[0], array[0]));
  return values;
}

/**
 * After a run through `binding` that let ONNX Runtime allocate the `wanted` outputs: keeps those values in `into` and
 * binds each as the output buffer of the binding's next runs (so they are not allocated again).
 */
export function keepBoundOutputs(api: OrtCApi, binding: Handle, wanted: readonly string[], into: Map<string, Handle>): void {
  const values = boundOutputValues(api, binding);
  for (const [i, name] of wanted.entries()) {
    const value = values[i];
    if (value === undefined) continue;
    into.set(name, value);
    check(api, api.fn.BindOutput(binding, name, value));
  }
}

/** What makes two runs' buffers interchangeable: the feeds' names, types and dimensions, and the outputs wanted. */
export function shapeKey(feeds: Readonly<Record<string, HostTensor>>, wanted: readonly string[]): string {
  return JSON.stringify([Object.entries(feeds).map(([name, tensor]) => [name, tensor.type, tensor.dims]), wanted]);
}

/** The type and dimensions of the tensor `value`. */
export function describeValue(api: OrtCApi, value: Handle): { type: string; dims: number[] } {
  const info = [null];
  check(api, api.fn.GetTensorTypeAndShape(value, info));
  try {
    const { type, dims } = typeAndShape(api, info[0]);
    return { type, dims };
  } finally {
    api.fn.ReleaseTensorTypeAndShapeInfo(info[0]);
  }
}

/**
 * A JavaScript copy of the host tensor `value`, output `name` of the model `file` (for the message).
 * @throws PipelineError `MODEL_UNSUPPORTED` for a type {@link HostTensor} cannot hold.
 */
export function toHost(api: OrtCApi, value: Handle, name: string, file: string): HostTensor {
  const { type, dims } = describeValue(api, value);
  const length = dims.reduce((a, b) => a * b, 1);
  const read = <T>(make: (buffer: ArrayBuffer) => T, bytesPer: number): T =>
    make(length === 0 ? new ArrayBuffer(0) : api.view(dataOf(api, value), length * bytesPer).slice(0));
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
      const reason = `Output "${name}" of ${file} has type ${type}, which dreamcord cannot read`;
      throw new PipelineError('MODEL_UNSUPPORTED', reason, { file });
    }
  }
}
