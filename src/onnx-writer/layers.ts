/**
 * Neural-network layers as standard ONNX operators (opset 17), built on a {@link GraphBuilder}. They take weights as
 * graph values, so the same layers serve every model family; the model files in `src/convert/graphs/` say which
 * checkpoint tensors go where.
 */
import { float, type FloatType, type GraphBuilder, type Value } from './graph.js';

/** `x · w + b` for `w` stored as `[in, out]` (a Linear layer's weight transposed) over the last axis. */
export function linear(g: GraphBuilder, x: Value, w: Value, b?: Value): Value {
  const product = g.node('MatMul', [x, w]);
  return b ? g.node('Add', [product, b]) : product;
}

export interface ConvOptions {
  readonly stride?: number;
  /** `[top, left, bottom, right]`, or one padding for every side. @default 0 */
  readonly pads?: number | readonly [number, number, number, number];
}

/** A 2-D convolution of NCHW `x` with weight `[out, in, kh, kw]` and bias `[out]`. */
export function conv2d(g: GraphBuilder, x: Value, w: Value, b: Value | undefined, options: ConvOptions = {}): Value {
  const stride = options.stride ?? 1;
  const pads = typeof options.pads === 'object' ? [...options.pads] : [0, 0, 0, 0].fill(options.pads ?? 0);
  return g.node('Conv', [x, w, b], { strides: [stride, stride], pads });
}

export function cast(g: GraphBuilder, x: Value, to: FloatType): Value {
  return g.node('Cast', [x], { to: to === 'float16' ? 10 : 1 });
}

/** A float32 value (a graph input) in the graph's float type. */
export function fromFloat32(g: GraphBuilder, x: Value): Value {
  return g.floatType === 'float32' ? x : cast(g, x, g.floatType);
}

/** A value of the graph's float type as float32 (for a graph output). */
export function toFloat32(g: GraphBuilder, x: Value): Value {
  return g.floatType === 'float32' ? x : cast(g, x, 'float32');
}

/** SiLU (swish): `x · sigmoid(x)`. */
export function silu(g: GraphBuilder, x: Value): Value {
  return g.node('Mul', [x, g.node('Sigmoid', [x])]);
}

/** CLIP's quick GELU: `x · sigmoid(1.702 x)`. */
export function quickGelu(g: GraphBuilder, x: Value): Value {
  return g.node('Mul', [x, g.node('Sigmoid', [g.node('Mul', [x, g.floatConstant([1.702], [])])])]);
}

/**
 * Exact GELU, `x · (1 + erf(x/√2)) · 0.5` (opset 17 has no Gelu operator). Written in the very form (Div, Erf,
 * Add, Mul, Mul) that ONNX Runtime's optimizer fuses into one Gelu kernel; with a Mul by 1/√2 it does not.
 */
export function gelu(g: GraphBuilder, x: Value): Value {
  const erf = g.node('Erf', [g.node('Div', [x, g.floatConstant([Math.SQRT2], [])])]);
  const onePlus = g.node('Add', [erf, g.floatConstant([1], [])]);
  return g.node('Mul', [g.node('Mul', [x, onePlus]), g.floatConstant([0.5], [])]);
}

/** Layer normalization over the last axis. ONNX computes its statistics in float32 even for fp16 inputs. */
export function layerNorm(g: GraphBuilder, x: Value, scale: Value, bias: Value, epsilon: number): Value {
  return g.node('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: float(epsilon) });
}

/**
 * Group normalization of NCHW `x` with per-channel `scale` and `bias` shaped `[C, 1, 1]`, as
 * Reshape → InstanceNormalization → Reshape → Mul → Add: the pattern every execution provider runs and ONNX
 * Runtime's Stable Diffusion optimizer fuses into its GroupNorm. (GroupNormalization-21 also runs on the CPU in
 * ONNX Runtime 1.29, as fast and within 5e-7, but it needs opset 21 and other providers may only expand it.)
 */
export function groupNorm(
  g: GraphBuilder,
  x: Value,
  scale: Value,
  bias: Value,
  groups: number,
  epsilon: number,
): Value {
  const wide = g.computesInFloat32('norms');
  const input = wide ? cast(g, x, 'float32') : x;
  const type: FloatType = wide ? 'float32' : g.floatType;
  const grouped = g.node('Reshape', [input, g.int64([0, groups, -1])]);
  const ones = g.floatConstant(new Float32Array(groups).fill(1), [groups], type);
  const zeros = g.floatConstant(new Float32Array(groups), [groups], type);
  const normalized = g.node('InstanceNormalization', [grouped, ones, zeros], { epsilon: float(epsilon) });
  const restored = g.node('Reshape', [normalized, g.node('Shape', [input])]);
  const narrowed = wide ? cast(g, restored, g.floatType) : restored;
  return g.node('Add', [g.node('Mul', [narrowed, scale]), bias]);
}

/** Softmax over the last axis, in float32 when the graph asks for it. */
export function softmax(g: GraphBuilder, x: Value): Value {
  if (!g.computesInFloat32('softmax')) return g.node('Softmax', [x], { axis: -1 });
  return cast(g, g.node('Softmax', [cast(g, x, 'float32')], { axis: -1 }), g.floatType);
}

export interface AttentionOptions {
  readonly heads: number;
  /** Width of one head (`channels / heads`). */
  readonly headDim: number;
  /** Added to the scores before softmax, broadcast to `[batch, heads, queries, keys]` (e.g. a causal mask). */
  readonly mask?: Value;
  /**
   * In an fp16 graph, compute the scores `q·kᵀ` and their softmax in float32 (diffusers' `upcast_attention`, set by
   * SD 2.1): fp16 scores overflow past 65 504 to infinity, and the softmax of a row holding one is NaN.
   */
  readonly upcast?: boolean;
}

/**
 * Scaled dot-product attention of `q` `[B, Sq, H·D]` over `k`, `v` `[B, Sk, H·D]`: split into heads, softmax of
 * `q·kᵀ/√D` (+ mask), weighted sum, heads joined again → `[B, Sq, H·D]`.
 */
export function attention(g: GraphBuilder, q: Value, k: Value, v: Value, options: AttentionOptions): Value {
  const { heads, headDim } = options;
  const split = (x: Value, perm: number[]): Value =>
    g.node('Transpose', [g.node('Reshape', [x, g.int64([0, 0, heads, headDim])])], { perm });
  const scaledQ = g.node('Mul', [split(q, [0, 2, 1, 3]), g.floatConstant([1 / Math.sqrt(headDim)], [])]);
  const keys = split(k, [0, 2, 3, 1]);
  const upcast = options.upcast === true && g.floatType === 'float16';
  const widen = (x: Value): Value => (upcast ? cast(g, x, 'float32') : x);
  let scores = g.node('MatMul', [widen(scaledQ), widen(keys)]);
  if (options.mask) scores = g.node('Add', [scores, widen(options.mask)]);
  const weights = upcast ? cast(g, g.node('Softmax', [scores], { axis: -1 }), g.floatType) : softmax(g, scores);
  const weighted = g.node('MatMul', [weights, split(v, [0, 2, 1, 3])]);
  const joined = g.node('Transpose', [weighted], { perm: [0, 2, 1, 3] });
  return g.node('Reshape', [joined, g.int64([0, 0, heads * headDim])]);
}

/** NCHW `[B, C, H, W]` → tokens `[B, H·W, C]`. */
export function imageToTokens(g: GraphBuilder, x: Value, channels: number): Value {
  const flat = g.node('Reshape', [x, g.int64([0, channels, -1])]);
  return g.node('Transpose', [flat], { perm: [0, 2, 1] });
}

/** Tokens `[B, H·W, C]` → NCHW shaped like `like`. */
export function tokensToImage(g: GraphBuilder, tokens: Value, like: Value): Value {
  const channelsFirst = g.node('Transpose', [tokens], { perm: [0, 2, 1] });
  return g.node('Reshape', [channelsFirst, g.node('Shape', [like])]);
}

/**
 * Nearest-neighbour upsampling of NCHW `x`: to the height and width of `sizeOf` when given (diffusers does that
 * when the latent size is not a multiple of the total downsampling), else 2×. PyTorch's `nearest` takes the
 * floor of `out / scale`: ONNX's `asymmetric` transform with `floor` rounding.
 */
export function upsampleNearest(g: GraphBuilder, x: Value, sizeOf?: Value): Value {
  const attributes = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
  if (!sizeOf) return g.node('Resize', [x, undefined, g.floatConstant([1, 1, 2, 2], [4], 'float32')], attributes);
  const batchAndChannels = g.node('Slice', [g.node('Shape', [x]), g.int64([0]), g.int64([2])]);
  const heightAndWidth = g.node('Slice', [g.node('Shape', [sizeOf]), g.int64([2]), g.int64([4])]);
  const sizes = g.node('Concat', [batchAndChannels, heightAndWidth], { axis: 0 });
  return g.node('Resize', [x, undefined, undefined, sizes], attributes);
}
