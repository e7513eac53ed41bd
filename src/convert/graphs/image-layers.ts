import {
  attention,
  BIAS_ADD_WIDTHS,
  BIAS_SPLIT_GELU_WIDTHS,
  biasAdd,
  biasSplitGelu,
  fromFloat32,
  gelu,
  groupNormNhwc,
  imageToTokens,
  multiHeadAttention,
  nhwcConv,
  silu,
  skipLayerNorm,
  toFloat32,
  tokensToImage,
  upsampleNearest,
  type ConvOptions,
  type Value,
} from '../../onnx-writer/index.js';
import type { Weights } from './weights.js';

/**
 * Which form of a graph the converter writes: `portable`, standard ONNX operators in NCHW that every execution
 * provider runs, or `cuda`, fp16 in NHWC with ONNX Runtime's fused CUDA operators (GroupNorm with SiLU,
 * SkipGroupNorm, NhwcConv, MultiHeadAttention with packed projections, SkipLayerNormalization, BiasSplitGelu,
 * BiasAdd), which run on the CUDA provider only.
 */
export type GraphTarget = 'portable' | 'cuda';

export const GRAPH_TARGETS: readonly GraphTarget[] = ['portable', 'cuda'];

/** An attention's projections: `prefix.to_q`, `to_k`, `to_v` (no biases in SD), `heads` heads. */
export interface AttentionSpec {
  readonly prefix: string;
  readonly heads: number;
  /** diffusers' `upcast_attention` (portable form: the scores in float32; the fused kernel always does). */
  readonly upcast?: boolean;
}

/**
 * The layers of the image models (UNet, VAE) for one {@link GraphTarget}: the model files say what the network
 * is, this class how each layer is written for the target. Image activations are NCHW in the portable form and
 * NHWC in the CUDA form; the graph's inputs and outputs are NCHW float32 in both ({@link enter}, {@link leave}).
 */
export class ImageLayers {
  readonly w: Weights;
  readonly target: GraphTarget;

  constructor(w: Weights, target: GraphTarget) {
    this.w = w;
    this.target = target;
  }

  get #cuda(): boolean {
    return this.target === 'cuda';
  }

  /** A float32 NCHW graph input as the activations the layers take. */
  enter(image: Value): Value {
    const x = fromFloat32(this.w.g, image);
    return this.#cuda ? this.w.g.node('Transpose', [x], { perm: [0, 2, 3, 1] }) : x;
  }

  /** Activations back to a float32 NCHW graph output. */
  leave(x: Value): Value {
    const nchw = this.#cuda ? this.w.g.node('Transpose', [x], { perm: [0, 3, 1, 2] }) : x;
    return toFloat32(this.w.g, nchw);
  }

  /** The convolution `prefix`; `same` padding for its kernel unless `options.pads` says otherwise. */
  conv(x: Value, prefix: string, options: ConvOptions = {}): Value {
    if (!this.#cuda) return this.w.conv(x, prefix, options);
    const [, , kernel = 1] = this.w.shape(`${prefix}.weight`);
    const pads = options.pads ?? Math.floor(kernel / 2);
    const weight = this.w.nhwcKernel(`${prefix}.weight`);
    return nhwcConv(this.w.g, x, weight, this.w.tensor(`${prefix}.bias`), { ...options, pads });
  }

  /** The GroupNorm `prefix`, followed by SiLU when `activate`. */
  norm(x: Value, prefix: string, groups: number, epsilon: number, activate: boolean): Value {
    if (this.#cuda) {
      const [gamma, beta] = this.#normVectors(prefix);
      return groupNormNhwc(this.w.g, x, gamma, beta, { groups, epsilon, silu: activate });
    }
    const normed = this.w.groupNorm(x, prefix, groups, epsilon);
    return activate ? silu(this.w.g, normed) : normed;
  }

  /** `x` plus a per-image vector `[B, C]` (the time embedding), then the GroupNorm `prefix` and SiLU. */
  addNormActivate(x: Value, vector: Value, prefix: string, groups: number, epsilon: number): Value {
    const { g } = this.w;
    if (this.#cuda) {
      const [gamma, beta] = this.#normVectors(prefix);
      return groupNormNhwc(g, x, gamma, beta, { groups, epsilon, silu: true, skip: vector });
    }
    return this.norm(g.node('Add', [x, g.node('Unsqueeze', [vector, g.int64([2, 3])])]), prefix, groups, epsilon, true);
  }

  /** Two images side by side on the channel axis. */
  concatChannels(a: Value, b: Value): Value {
    return this.w.g.node('Concat', [a, b], { axis: this.#cuda ? 3 : 1 });
  }

  /** Nearest-neighbour 2× upsampling, or to the height and width of `sizeOf` (see {@link upsampleNearest}). */
  upsample(x: Value, sizeOf?: Value): Value {
    if (!this.#cuda) return upsampleNearest(this.w.g, x, sizeOf);
    const { g } = this.w;
    const attributes = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
    if (!sizeOf) return g.node('Resize', [x, undefined, g.floatConstant([1, 2, 2, 1], [4], 'float32')], attributes);
    const part = (of: Value, from: number, to: number): Value =>
      g.node('Slice', [g.node('Shape', [of]), g.int64([from]), g.int64([to])]);
    const sizes = g.node('Concat', [part(x, 0, 1), part(sizeOf, 1, 3), part(x, 3, 4)], { axis: 0 });
    return g.node('Resize', [x, undefined, undefined, sizes], attributes);
  }

  /** An image as tokens `[B, H·W, C]` (in NHWC a Reshape only). */
  tokens(x: Value, channels: number): Value {
    return this.#cuda ? this.w.g.node('Reshape', [x, this.w.g.int64([0, -1, channels])]) : imageToTokens(this.w.g, x, channels);
  }

  /** Tokens back to an image shaped like `like`. */
  image(tokens: Value, like: Value): Value {
    return this.#cuda ? this.w.g.node('Reshape', [tokens, this.w.g.node('Shape', [like])]) : tokensToImage(this.w.g, tokens, like);
  }

  /**
   * Self-attention of tokens `x` through `spec`'s projections → the heads joined, before the output projection.
   * The CUDA form projects q, k and v in one MatMul into MultiHeadAttention's packed layout when `packed`.
   */
  selfAttention(x: Value, spec: AttentionSpec, packed = true): Value {
    const { w } = this;
    const names = ['to_q', 'to_k', 'to_v'].map((p) => `${spec.prefix}.${p}.weight`);
    if (this.#cuda && packed && !w.has(`${spec.prefix}.to_q.bias`)) {
      const qkv = w.g.node('MatMul', [x, w.packedMatrix(`${spec.prefix}.to_qkv.weight:packed`, names, spec.heads)]);
      const packedQkv = w.g.node('Reshape', [qkv, w.g.int64([0, 0, spec.heads, 3, -1])]);
      return multiHeadAttention(w.g, { packedQkv }, spec.heads);
    }
    return this.#attention(w.linear(x, `${spec.prefix}.to_q`), x, spec, packed);
  }

  /** Attention of tokens `x` over `context` (the text) → the heads joined, before the output projection. */
  crossAttention(x: Value, context: Value, spec: AttentionSpec): Value {
    return this.#attention(this.w.linear(x, `${spec.prefix}.to_q`), context, spec, true);
  }

  /** `residual + linear(x)` by the Linear layer `prefix` (`BiasAdd` where its CUDA kernel takes the width). */
  residualLinear(residual: Value, x: Value, prefix: string): Value {
    const { w } = this;
    const [width = 0] = w.shape(`${prefix}.weight`);
    if (this.#cuda && BIAS_ADD_WIDTHS.includes(width) && w.has(`${prefix}.bias`)) {
      return biasAdd(w.g, w.g.node('MatMul', [x, w.matrix(`${prefix}.weight`)]), w.tensor(`${prefix}.bias`), residual);
    }
    return w.g.node('Add', [residual, w.linear(x, prefix)]);
  }

  /**
   * `sum = residual + linear(x)` by the Linear layer `prefix`, and the LayerNorm `norm` of the sum (one
   * SkipLayerNormalization in the CUDA form).
   */
  residualNorm(residual: Value, x: Value, prefix: string, norm: string, epsilon: number): { sum: Value; normalized: Value } {
    const { w } = this;
    if (!this.#cuda) {
      const sum = w.g.node('Add', [residual, w.linear(x, prefix)]);
      return { sum, normalized: w.layerNorm(sum, norm, epsilon) };
    }
    const bias = w.has(`${prefix}.bias`) ? w.tensor(`${prefix}.bias`) : undefined;
    const product = w.g.node('MatMul', [x, w.matrix(`${prefix}.weight`)]);
    return skipLayerNorm(w.g, product, residual, w.tensor(`${norm}.weight`), w.tensor(`${norm}.bias`), bias, epsilon);
  }

  /** diffusers' GEGLU: the Linear layer `prefix` to twice the width, then `value · Gelu(gate)` of its halves. */
  geglu(x: Value, prefix: string): Value {
    const { w } = this;
    const [width = 0] = w.shape(`${prefix}.weight`);
    if (this.#cuda && BIAS_SPLIT_GELU_WIDTHS.includes(width) && w.has(`${prefix}.bias`)) {
      return biasSplitGelu(w.g, w.g.node('MatMul', [x, w.matrix(`${prefix}.weight`)]), w.tensor(`${prefix}.bias`));
    }
    const [value, gate] = w.g.nodeOutputs('Split', [w.linear(x, prefix)], { axis: -1 }, { outputs: 2 });
    if (!value || !gate) throw new Error('Split gave fewer than two outputs');
    return w.g.node('Mul', [value, gelu(w.g, gate)]);
  }

  /** Attention of the queries `q` over `context` through `spec`'s key and value projections. */
  #attention(q: Value, context: Value, spec: AttentionSpec, packed: boolean): Value {
    const { w } = this;
    const [inner = 0] = w.shape(`${spec.prefix}.to_q.weight`);
    if (this.#cuda && packed && !w.has(`${spec.prefix}.to_k.bias`)) {
      const names = ['to_k', 'to_v'].map((p) => `${spec.prefix}.${p}.weight`);
      const kv = w.g.node('MatMul', [context, w.packedMatrix(`${spec.prefix}.to_kv.weight:packed`, names, spec.heads)]);
      const packedKv = w.g.node('Reshape', [kv, w.g.int64([0, 0, spec.heads, 2, -1])]);
      return multiHeadAttention(w.g, { query: q, packedKv }, spec.heads);
    }
    const k = w.linear(context, `${spec.prefix}.to_k`);
    const v = w.linear(context, `${spec.prefix}.to_v`);
    if (this.#cuda) return multiHeadAttention(w.g, { query: q, key: k, value: v }, spec.heads);
    return attention(w.g, q, k, v, { heads: spec.heads, headDim: inner / spec.heads, upcast: spec.upcast ?? false });
  }

  #normVectors(prefix: string): [Value, Value] {
    return [this.w.float32Vector(`${prefix}.weight`), this.w.float32Vector(`${prefix}.bias`)];
  }
}
