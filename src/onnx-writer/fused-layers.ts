/**
 * ONNX Runtime's fused operators (domain `com.microsoft`) that its CUDA provider runs in one kernel each, with the
 * input layouts their kernels expect (ONNX Runtime's `docs/ContribOperators.md` and `contrib_ops/cuda/`). Most have
 * no CPU kernel: graphs built from them are for the CUDA provider only.
 */
import { float, type GraphBuilder, type Value } from './graph.js';
import type { ConvOptions } from './layers.js';

/** The domain of ONNX Runtime's own operators. */
export const MS_DOMAIN = 'com.microsoft';

const MS = { domain: MS_DOMAIN } as const;

/**
 * Channel counts (the last axis) BiasAdd's CUDA kernel accepts; it refuses others. Those of SD's UNet levels.
 */
export const BIAS_ADD_WIDTHS: readonly number[] = [320, 640, 1280];

/** Input widths (both halves together) BiasSplitGelu's CUDA kernel accepts: SD 1.x / 2.x / XL's GEGLU. */
export const BIAS_SPLIT_GELU_WIDTHS: readonly number[] = [2560, 5120, 10240];

/**
 * A 2-D convolution of NHWC `x` with a weight laid out `[out, kh, kw, in]` and bias `[out]` (`NhwcConv`): cuDNN's
 * native fp16 layout, so no Transpose around each convolution.
 */
export function nhwcConv(g: GraphBuilder, x: Value, w: Value, b: Value | undefined, options: ConvOptions = {}): Value {
  const stride = options.stride ?? 1;
  const pads = typeof options.pads === 'object' ? [...options.pads] : [0, 0, 0, 0].fill(options.pads ?? 0);
  return g.node('NhwcConv', [x, w, b], { strides: [stride, stride], pads }, MS);
}

export interface GroupNormOptions {
  readonly groups: number;
  readonly epsilon: number;
  /** SiLU after the normalization (fused). */
  readonly silu: boolean;
  /**
   * Added to `x` first (`SkipGroupNorm`): `[N, C]`, broadcast over the pixels, or as large as `x`.
   * @default nothing added (`GroupNorm`)
   */
  readonly skip?: Value;
}

/**
 * Group normalization of NHWC `x` (`GroupNorm`, or `SkipGroupNorm` with `options.skip`), then SiLU when asked;
 * `gamma` and `beta` are float32 `[C]` (the kernel takes no other type). Statistics are computed in float32.
 */
export function groupNormNhwc(g: GraphBuilder, x: Value, gamma: Value, beta: Value, options: GroupNormOptions): Value {
  const attributes = { groups: options.groups, epsilon: float(options.epsilon), activation: options.silu ? 1 : 0, channels_last: 1 };
  if (!options.skip) return g.node('GroupNorm', [x, gamma, beta], attributes, MS);
  // Only the normalized output is kept, not the sum.
  const [normalized] = g.nodeOutputs('SkipGroupNorm', [x, gamma, beta, options.skip], attributes, { ...MS, outputs: 2, omitted: [1] });
  if (!normalized) throw new Error('SkipGroupNorm gave no output');
  return normalized;
}

/**
 * `SkipLayerNormalization`: `sum = x + bias + skip`, then layer normalization of `sum` over the last axis. Returns
 * both, the sum being the next residual.
 */
export function skipLayerNorm(
  g: GraphBuilder,
  x: Value,
  skip: Value,
  gamma: Value,
  beta: Value,
  bias: Value | undefined,
  epsilon: number,
): { normalized: Value; sum: Value } {
  const [normalized, , , sum] = g.nodeOutputs(
    'SkipLayerNormalization',
    [x, skip, gamma, beta, bias],
    { epsilon: float(epsilon) },
    { ...MS, outputs: 4, omitted: [1, 2] },
  );
  if (!normalized || !sum) throw new Error('SkipLayerNormalization gave fewer outputs than asked');
  return { normalized, sum };
}

/** `BiasAdd`: `x + bias + skip` for `x` and `skip` `[B, S, C]` with C one of {@link BIAS_ADD_WIDTHS}. */
export function biasAdd(g: GraphBuilder, x: Value, bias: Value, skip: Value): Value {
  return g.node('BiasAdd', [x, bias, skip], {}, MS);
}

/**
 * `BiasSplitGelu`: with `x + bias` split in halves `[a, b]` on the last axis, `a · Gelu(b)` (diffusers' GEGLU);
 * the width must be one of {@link BIAS_SPLIT_GELU_WIDTHS}.
 */
export function biasSplitGelu(g: GraphBuilder, x: Value, bias: Value): Value {
  return g.node('BiasSplitGelu', [x, bias], {}, MS);
}

/** How `MultiHeadAttention` receives its queries, keys and values. */
export type AttentionInputs =
  /** Self-attention: one tensor `[B, S, N, 3, H]` (per head: its query, key and value side by side). */
  | { readonly packedQkv: Value }
  /** Cross-attention: queries `[B, S, N·H]`, keys and values packed `[B, L, N, 2, H]`. */
  | { readonly query: Value; readonly packedKv: Value }
  /** Separate `[B, S, N·H]`, `[B, L, N·H]`, `[B, L, N·H]` (the only form the CPU kernel takes). */
  | { readonly query: Value; readonly key: Value; readonly value: Value };

/**
 * `MultiHeadAttention` with `heads` heads, scale `1/√H`, no mask → `[B, S, N·H]` (heads joined). ONNX Runtime
 * picks flash or memory-efficient attention for it; the softmax is computed in float32 whatever the input type.
 */
export function multiHeadAttention(g: GraphBuilder, inputs: AttentionInputs, heads: number): Value {
  const list =
    'packedQkv' in inputs
      ? [inputs.packedQkv]
      : 'packedKv' in inputs
        ? [inputs.query, inputs.packedKv]
        : [inputs.query, inputs.key, inputs.value];
  return g.node('MultiHeadAttention', list, { num_heads: heads }, MS);
}
