import {
  conv2d,
  groupNorm,
  layerNorm,
  linear,
  type ConvOptions,
  type GraphBuilder,
  type Value,
} from '../../onnx-writer/index.js';
import type { WeightSource } from '../../checkpoint/components.js';

/**
 * A component's checkpoint tensors as graph weights, by their diffusers / transformers module names, with the
 * layers that use them. Shapes come from the source when the graph is built (a missing tensor fails then, named by
 * the source); values are read only when the model is written.
 */
export class Weights {
  readonly g: GraphBuilder;
  readonly #source: WeightSource;

  constructor(g: GraphBuilder, source: WeightSource) {
    this.g = g;
    this.#source = source;
  }

  has(name: string): boolean {
    return this.#source.has(name);
  }

  shape(name: string): readonly number[] {
    return this.#source.shape(name);
  }

  /** The tensor as stored. */
  tensor(name: string): Value {
    return this.g.weight(name, { dims: this.#source.shape(name), ...this.#readers(name) });
  }

  /** A per-channel vector `[C]` shaped `[C, 1, 1]`, to scale or shift NCHW activations. */
  channels(name: string): Value {
    const [size = 0] = this.#source.shape(name);
    return this.g.weight(`${name}:chw`, { dims: [size, 1, 1], ...this.#readers(name) });
  }

  /**
   * A Linear weight `[out, in]` (or a 1×1 convolution's `[out, in, 1, 1]`, the same values) transposed to
   * `[in, out]`, so that `MatMul(x, w)` applies it; the transpose happens once, while writing.
   */
  matrix(name: string): Value {
    const [rows = 0, columns = 0] = this.#source.shape(name);
    const { read, readFloat16 } = this.#readers(name);
    return this.g.weight(`${name}:T`, {
      dims: [columns, rows],
      read: () => transpose(read(), rows, columns),
      readFloat16: () => {
        const bits = readFloat16();
        return bits && transpose(bits, rows, columns);
      },
    });
  }

  /** A vector `[C]` stored as float32 whatever the graph's type (fused group norms take no other). */
  float32Vector(name: string): Value {
    return this.g.weight(`${name}:float32`, { dims: this.#source.shape(name), ...this.#readers(name) }, 'float32');
  }

  /** A convolution weight `[out, in, kh, kw]` laid out `[out, kh, kw, in]`, as `NhwcConv` takes it. */
  nhwcKernel(name: string): Value {
    const [out = 0, channels = 0, kh = 1, kw = 1] = this.#source.shape(name);
    const { read, readFloat16 } = this.#readers(name);
    const permute = <T extends Float32Array | Uint16Array>(values: T): T => {
      const result = new (values.constructor as new (length: number) => T)(values.length);
      const pixels = kh * kw;
      for (let o = 0; o < out; o++) {
        for (let i = 0; i < channels; i++) {
          for (let p = 0; p < pixels; p++) result[(o * pixels + p) * channels + i] = values[(o * channels + i) * pixels + p] ?? 0;
        }
      }
      return result;
    };
    return this.g.weight(`${name}:nhwc`, {
      dims: [out, kh, kw, channels],
      read: () => permute(read()),
      readFloat16: () => {
        const bits = readFloat16();
        return bits && permute(bits);
      },
    });
  }

  /**
   * Linear weights `[heads·H, in]` of two or three projections (k, v or q, k, v) as one `[in, heads·parts·H]`
   * matrix whose output, reshaped to `[…, heads, parts, H]`, is what `MultiHeadAttention` takes packed: head by
   * head, each projection's H columns side by side. Stored as `name`.
   */
  packedMatrix(name: string, parts: readonly string[], heads: number): Value {
    const [rows = 0, columns = 0] = this.#source.shape(parts[0] ?? '');
    const headDim = rows / heads;
    const pack = <T extends Float32Array | Uint16Array>(sources: readonly T[]): T => {
      const first = sources[0];
      if (!first) throw new Error(`No projections to pack for ${name}`);
      const width = rows * sources.length;
      const result = new (first.constructor as new (length: number) => T)(columns * width);
      sources.forEach((source, p) => {
        for (let r = 0; r < rows; r++) {
          const column = Math.floor(r / headDim) * sources.length * headDim + p * headDim + (r % headDim);
          for (let c = 0; c < columns; c++) result[c * width + column] = source[r * columns + c] ?? 0;
        }
      });
      return result;
    };
    return this.g.weight(name, {
      dims: [columns, rows * parts.length],
      read: () => pack(parts.map((part) => this.#source.read(part))),
      readFloat16: () => {
        const bits = parts.map((part) => this.#source.readFloat16?.(part));
        return bits.every((b): b is Uint16Array => b !== undefined) ? pack(bits) : undefined;
      },
    });
  }

  #readers(name: string): { read: () => Float32Array; readFloat16: () => Uint16Array | undefined } {
    return { read: () => this.#source.read(name), readFloat16: () => this.#source.readFloat16?.(name) };
  }

  /** The Linear layer `prefix` (`prefix.weight`, and `prefix.bias` when the checkpoint has one). */
  linear(x: Value, prefix: string): Value {
    const bias = this.has(`${prefix}.bias`) ? this.tensor(`${prefix}.bias`) : undefined;
    return linear(this.g, x, this.matrix(`${prefix}.weight`), bias);
  }

  /** The convolution `prefix`; `same` padding for its kernel unless `options.pads` says otherwise. */
  conv(x: Value, prefix: string, options: ConvOptions = {}): Value {
    const [, , kernel = 1] = this.shape(`${prefix}.weight`);
    const pads = options.pads ?? Math.floor(kernel / 2);
    return conv2d(this.g, x, this.tensor(`${prefix}.weight`), this.tensor(`${prefix}.bias`), { ...options, pads });
  }

  /** The GroupNorm `prefix` over NCHW `x`. */
  groupNorm(x: Value, prefix: string, groups: number, epsilon: number): Value {
    return groupNorm(this.g, x, this.channels(`${prefix}.weight`), this.channels(`${prefix}.bias`), groups, epsilon);
  }

  /** The LayerNorm `prefix` over the last axis. */
  layerNorm(x: Value, prefix: string, epsilon: number): Value {
    return layerNorm(this.g, x, this.tensor(`${prefix}.weight`), this.tensor(`${prefix}.bias`), epsilon);
  }
}

function transpose<T extends Float32Array | Uint16Array>(values: T, rows: number, columns: number): T {
  const out = new (values.constructor as new (length: number) => T)(values.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c] ?? 0;
  }
  return out;
}
