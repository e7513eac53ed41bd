import { float16ToFloat32, float32ToFloat16 } from './float16.js';

/** A float element type a model input or output may use. */
export type FloatType = 'float32' | 'float16';

/**
 * A tensor in host memory, as the pipeline hands it to a model and gets it back. fp16 data are raw bits
 * (`Uint16Array`), int64 data are `BigInt64Array`, as ONNX Runtime for Node takes them. `dims` is row-major.
 */
export type HostTensor =
  | { readonly type: 'float32'; readonly data: Float32Array; readonly dims: readonly number[] }
  | { readonly type: 'float16'; readonly data: Uint16Array; readonly dims: readonly number[] }
  | { readonly type: 'int32'; readonly data: Int32Array; readonly dims: readonly number[] }
  | { readonly type: 'int64'; readonly data: BigInt64Array; readonly dims: readonly number[] };

/** The element types {@link HostTensor} supports. */
export type HostTensorType = HostTensor['type'];

/**
 * One input or output of a model as its graph declares it: the element type as ONNX Runtime names it
 * (`float32`, `float16`, `int64`, …) and the shape, with symbolic names for dynamic axes (`batch`).
 */
export interface TensorInfo {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

/**
 * Whose runs a {@link constantTensor} is fed to: one generation's denoising loop (`job`), or the runs of a batch of
 * generations (`batch`: their rows joined).
 */
export type ConstantScope = 'job' | 'batch';

const constants = new WeakMap<HostTensor, ConstantScope>();

/**
 * Declares that `tensor`'s values stay as they are for as long as it is fed to a model (a job's text conditioning,
 * fed at every step; a batch's, its jobs' joined), so that a session may keep its own copy between runs rather than
 * take the values again (the native bridge binds such an input once: see `native/io-binding.ts`). Returns the tensor.
 */
export function constantTensor<T extends HostTensor>(tensor: T, scope: ConstantScope = 'job'): T {
  constants.set(tensor, scope);
  return tensor;
}

/** Whether `tensor` was declared by {@link constantTensor}. */
export function isConstantTensor(tensor: HostTensor): boolean {
  return constants.has(tensor);
}

/** The scope `tensor` was declared constant for by {@link constantTensor}, or undefined. */
export function constantScope(tensor: HostTensor): ConstantScope | undefined {
  return constants.get(tensor);
}

/**
 * A float input reused across model calls (the UNet's latents at every step). Write float32 values into
 * `values`, then pass {@link FloatInput.tensor} to the model: for a float32 input that is `values` itself (no
 * copy); for a float16 input the values are converted into a buffer this object owns.
 *
 * With `repeats` above 1, `values` holds only the first `dims[0] / repeats` rows and the tensor is that block
 * repeated along the batch axis (the UNet batch of classifier-free guidance feeds each image twice): each value is
 * then converted once, and the copies are plain copies of the converted block.
 */
export class FloatInput {
  readonly values: Float32Array;
  readonly #tensor: Extract<HostTensor, { type: FloatType }>;
  readonly #repeats: number;

  /**
   * @param dims - the tensor shape; `values` has their product divided by `repeats` as length.
   * @param repeats - how many times `values` repeats along the first axis; it must divide `dims[0]`. @default 1
   */
  constructor(readonly type: FloatType, readonly dims: readonly number[], repeats = 1) {
    const rows = dims[0] ?? 1;
    if (!Number.isInteger(repeats) || repeats < 1 || rows % repeats !== 0) {
      throw new RangeError(`Expected \`repeats\` to divide the ${rows} rows of [${dims.join(',')}], got ${repeats}`);
    }
    const length = dims.reduce((a, b) => a * b, 1);
    this.values = new Float32Array(length / repeats);
    this.#repeats = repeats;
    this.#tensor =
      type === 'float32'
        ? { type, data: repeats === 1 ? this.values : new Float32Array(length), dims }
        : { type, data: new Uint16Array(length), dims };
  }

  /** The tensor holding the current `values`, in the input's type. Valid until the next `tensor()` call. */
  tensor(): HostTensor {
    const tensor = this.#tensor;
    const block = this.values.length;
    if (tensor.type === 'float16') float32ToFloat16(this.values, tensor.data.subarray(0, block));
    else if (tensor.data !== this.values) tensor.data.set(this.values);
    for (let copy = 1; copy < this.#repeats; copy++) tensor.data.copyWithin(copy * block, 0, block);
    return tensor;
  }
}

/**
 * The float32 values of a float model output. A float32 output is returned as is (no copy); a float16 one is
 * converted into `target` (allocated when omitted). Throws when the output is not a float tensor.
 */
export function readFloats(tensor: HostTensor, target?: Float32Array): Float32Array {
  switch (tensor.type) {
    case 'float32':
      return tensor.data;
    case 'float16':
      return float16ToFloat32(tensor.data, target);
    default:
      throw new TypeError(`Expected a float32 or float16 tensor, got ${tensor.type}`);
  }
}

/** True when `type` (as a graph declares it) is one {@link FloatInput} can feed. */
export function isFloatType(type: string): type is FloatType {
  return type === 'float32' || type === 'float16';
}

/**
 * `tensors` joined along their first axis (the batch): one tensor of their rows, in order, written into `into` when
 * given (a tensor of the joined type and size, kept from an earlier join), else into a new one. Each must have the
 * same type and the same dimensions after the first.
 * @throws RangeError for no tensors, mixed types, other trailing dimensions or an `into` of another type or size (a
 *   bug of the caller).
 */
export function concatRows(tensors: readonly HostTensor[], into?: HostTensor): HostTensor {
  const [first] = tensors;
  if (!first) throw new RangeError('concatRows needs at least one tensor');
  const tail = first.dims.slice(1).join(',');
  for (const tensor of tensors) {
    if (tensor.type !== first.type || tensor.dims.slice(1).join(',') !== tail) {
      throw new RangeError(`cannot join ${tensor.type}[${tensor.dims.join(',')}] to ${first.type}[${first.dims.join(',')}]`);
    }
  }
  const dims = [tensors.reduce((rows, tensor) => rows + (tensor.dims[0] ?? 1), 0), ...first.dims.slice(1)];
  const length = tensors.reduce((sum, tensor) => sum + tensor.data.length, 0);
  const target = into ?? emptyTensor(first.type, dims, length);
  if (target.type !== first.type || target.dims.join(',') !== dims.join(',')) {
    throw new RangeError(`cannot join ${first.type}[${dims.join(',')}] into ${target.type}[${target.dims.join(',')}]`);
  }
  let offset = 0;
  for (const tensor of tensors) {
    // Every tensor has the target's type (checked above), so the cast only restates it.
    (target.data as { set(source: ArrayLike<unknown>, offset: number): void }).set(tensor.data, offset);
    offset += tensor.data.length;
  }
  return target;
}

/** A new zeroed tensor of `type` and `dims` (`length` elements). */
function emptyTensor(type: HostTensorType, dims: readonly number[], length: number): HostTensor {
  switch (type) {
    case 'float32':
      return { type, dims, data: new Float32Array(length) };
    case 'float16':
      return { type, dims, data: new Uint16Array(length) };
    case 'int32':
      return { type, dims, data: new Int32Array(length) };
    case 'int64':
      return { type, dims, data: new BigInt64Array(length) };
  }
}

/**
 * `tensor` cut along its first axis into consecutive parts of `rows[i]` rows each: views of its data, no copy.
 * @throws RangeError when the rows do not add up to the tensor's first dimension.
 */
export function splitRows(tensor: HostTensor, rows: readonly number[]): HostTensor[] {
  const total = tensor.dims[0] ?? 1;
  if (rows.reduce((sum, r) => sum + r, 0) !== total) {
    throw new RangeError(`cannot split ${total} rows into parts of ${rows.join(', ')}`);
  }
  const rowSize = tensor.data.length / total;
  let start = 0;
  return rows.map((count) => {
    const dims = [count, ...tensor.dims.slice(1)];
    const [from, to] = [start * rowSize, (start + count) * rowSize];
    start += count;
    switch (tensor.type) {
      case 'float32':
        return { type: 'float32', dims, data: tensor.data.subarray(from, to) };
      case 'float16':
        return { type: 'float16', dims, data: tensor.data.subarray(from, to) };
      case 'int32':
        return { type: 'int32', dims, data: tensor.data.subarray(from, to) };
      case 'int64':
        return { type: 'int64', dims, data: tensor.data.subarray(from, to) };
    }
  });
}
