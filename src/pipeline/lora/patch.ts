/** The components a LoRA changes: SDXL's second text encoder (OpenCLIP ViT-bigG) too. */
export type PatchedComponent = 'text_encoder' | 'text_encoder_2' | 'unet';

/** Every component a LoRA may change, in the order they are merged. */
export const PATCHED_COMPONENTS: readonly PatchedComponent[] = ['text_encoder', 'text_encoder_2', 'unet'];

/** One weight of a converted model, as its `weights.json` lists it. */
export interface PatchableWeight {
  /** The graph's weight name: a module's `….weight:T` (a Linear, stored transposed) or `….weight` (a convolution). */
  readonly name: string;
  readonly type: 'float32' | 'float16';
  readonly dims: readonly number[];
  /** Byte range in the component's `model.onnx_data`. */
  readonly offset: number;
  readonly length: number;
}

/** A low-rank product a·b: a `[rows, rank]`, b `[rank, columns]`. */
export interface LowRank {
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly rank: number;
}

/**
 * One weight's change in its stored layout flattened to rows × columns (`dims[0]` × the rest), as
 * `weight_ops/model.onnx` adds it: scale · a·b (LoRA), or scale · (a·b) ⊙ (hadamard's a·b) (LoHa).
 */
export interface WeightDelta extends LowRank {
  readonly weight: string;
  readonly scale: number;
  readonly hadamard?: LowRank;
}

/**
 * A network (a LoRA) at its strengths: its changes to each component. `id` names it for the cache of merged
 * weights (its file's hash and the strengths), so the same LoRA at the same strength is merged once.
 */
export interface NetworkPatch {
  readonly id: string;
  readonly deltas: Readonly<Record<PatchedComponent, readonly WeightDelta[]>>;
}
