import { basename } from 'node:path';
import type { WeightSource } from './components.js';
import { CheckpointError } from './errors.js';
import type { SafetensorsFile } from './safetensors.js';

/** Where one reference-named tensor lives in a file, and how to cut it out. */
export interface TensorRef {
  readonly file: SafetensorsFile;
  readonly key: string;
  /** OpenCLIP packs q, k and v into one tensor: this one is the given third of its rows. */
  readonly third?: 0 | 1 | 2;
  /** A 1×1 convolution stored where the reference module is a Linear layer (LDM's VAE attention): drop the 1, 1. */
  readonly squeeze?: boolean;
  /** A matrix stored transposed relative to the reference's Linear weight (OpenCLIP's `text_projection`). */
  readonly transpose?: boolean;
}

/** A {@link WeightSource} over tensors of one or more safetensors files, under their reference names. */
export class MappedWeights implements WeightSource {
  private readonly refs: ReadonlyMap<string, TensorRef>;

  constructor(refs: ReadonlyMap<string, TensorRef>) {
    this.refs = refs;
  }

  names(): readonly string[] {
    return [...this.refs.keys()];
  }

  has(name: string): boolean {
    return this.refs.has(name);
  }

  shape(name: string): readonly number[] {
    const ref = this.ref(name);
    const [rows = 0, ...rest] = ref.file.info(ref.key).shape;
    const shape = ref.third === undefined ? [rows, ...rest] : [rows / 3, ...rest];
    if (ref.transpose) return [...shape].reverse();
    return ref.squeeze && shape.length === 4 ? shape.slice(0, 2) : shape;
  }

  read(name: string): Float32Array {
    const ref = this.ref(name);
    return layOut(ref, ref.file.read(ref.key));
  }

  readFloat16(name: string): Uint16Array | undefined {
    const ref = this.ref(name);
    const halves = ref.file.readFloat16(ref.key);
    return halves && layOut(ref, halves);
  }

  private ref(name: string): TensorRef {
    const ref = this.refs.get(name);
    if (!ref) {
      const files = [...new Set([...this.refs.values()].map((r) => basename(r.file.path)))].join(', ');
      throw new CheckpointError('INCOMPLETE', files, `The checkpoint has no tensor for ${name}`);
    }
    return ref;
  }
}

/** The values as the reference lays them out: all, one third of OpenCLIP's packed q/k/v, or the transpose. */
function layOut<T extends Float32Array | Uint16Array>(ref: TensorRef, values: T): T {
  if (ref.transpose) {
    const [rows = 0, columns = 0] = ref.file.info(ref.key).shape;
    const out = values.slice() as T;
    for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c] ?? 0;
    return out;
  }
  if (ref.third === undefined) return values;
  const size = values.length / 3;
  return values.slice(ref.third * size, (ref.third + 1) * size) as T;
}

/**
 * The VAE attention's q/k/v/out projections: Linear layers in diffusers, stored as 1×1 convolutions by LDM
 * checkpoints and by some diffusers folders.
 */
export function isVaeAttentionProjection(name: string): boolean {
  return /\.attentions\.0\.to_(q|k|v|out\.0)\.weight$/.test(name);
}
