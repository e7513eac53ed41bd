import { fromFloat32, silu, type Value, type WrittenModel } from '../../onnx-writer/index.js';
import type { ComponentSource, UNetConfig } from '../../checkpoint/components.js';
import { ImageLayers, type AttentionSpec } from './image-layers.js';
import type { Weights } from './weights.js';
import { componentGraph, writeComponent, type GraphWriteOptions } from './write-component.js';
import type { GraphBuilder } from '../../onnx-writer/index.js';

/** diffusers' Transformer2DModel normalizes its input with this epsilon, whatever the UNet's `norm_eps`. */
const TRANSFORMER_NORM_EPS = 1e-6;
/** LayerNorm epsilon inside BasicTransformerBlock. */
const BLOCK_NORM_EPS = 1e-5;
/** The sinusoidal timestep embedding's longest period. */
const MAX_PERIOD = 10000;

/** SDXL's time ids per image: original size (h, w), crop top-left (y, x), target size (h, w). */
const TIME_IDS = 6;

/**
 * Writes diffusers' `UNet2DConditionModel` (SD 1.x / 2.x / SDXL) as `outDir/model.onnx`: `sample` `[batch, in,
 * height, width]`, `timestep` float32 `[batch]` (or one value for the batch) and `encoder_hidden_states` `[batch,
 * sequence, cross]` → `out_sample` `[batch, out, height, width]`, all float32. SDXL's UNet (`addTimeEmbedDim` set)
 * also takes `text_embeds` `[batch, pooled]` (the second text encoder's projection) and `time_ids` `[batch, 6]`.
 */
export function writeUNet(
  source: ComponentSource<UNetConfig>,
  outDir: string,
  options: GraphWriteOptions,
): Promise<WrittenModel> {
  return writeComponent(unetGraph(source, options), outDir, options);
}

/** The UNet's graph in the form `options.target`, not written yet (its weights are read when it is). */
export function unetGraph(source: ComponentSource<UNetConfig>, options: GraphWriteOptions): GraphBuilder {
  return componentGraph('unet', source.weights, options, (w) =>
    buildUNet(new ImageLayers(w, options.target ?? 'portable'), source.config),
  );
}

function buildUNet(layers: ImageLayers, c: UNetConfig): void {
  const { w } = layers;
  const { g } = w;
  const sample = g.input('sample', 'float32', ['batch', c.inChannels, 'height', 'width']);
  const timestep = g.input('timestep', 'float32', ['batch']);
  const context = g.input('encoder_hidden_states', 'float32', ['batch', 'sequence', c.crossAttentionDim]);
  let time = g.scoped('time_embedding', () => timeEmbedding(w, c, timestep, sample));
  if (c.addTimeEmbedDim !== undefined) {
    const dim = c.addTimeEmbedDim;
    time = g.node('Add', [time, g.scoped('add_embedding', () => addedEmbedding(w, dim))]);
  }
  // Activated once here for all resnets (each applies SiLU first).
  time = silu(g, time);
  const out = new UNetLayers(layers, c, time, fromFloat32(g, context)).denoise(layers.enter(sample));
  g.output(layers.leave(out), 'out_sample', 'float32', ['batch', c.outChannels, 'height', 'width']);
}

/**
 * diffusers' `Timesteps` (flip_sin_to_cos, freq_shift 0: `[cos, sin]` of `t · 10000^(-i/half)`) in float32, then
 * `TimestepEmbedding` (Linear, SiLU, Linear), not activated yet.
 */
function timeEmbedding(w: Weights, c: UNetConfig, timestep: Value, sample: Value): Value {
  const { g } = w;
  const half = (c.blockOutChannels[0] ?? 0) / 2;
  const batch = g.node('Slice', [g.node('Shape', [sample]), g.int64([0]), g.int64([1])]);
  const t = g.node('Unsqueeze', [g.node('Expand', [timestep, batch]), g.int64([1])]);
  const args = g.node('Mul', [t, g.floatConstant(frequencies(half), [1, half], 'float32')]);
  const sinusoid = g.node('Concat', [g.node('Cos', [args]), g.node('Sin', [args])], { axis: 1 });
  return timestepMlp(w, fromFloat32(g, sinusoid), 'time_embedding');
}

/** diffusers' `TimestepEmbedding`: Linear, SiLU, Linear. */
function timestepMlp(w: Weights, x: Value, prefix: string): Value {
  return w.linear(silu(w.g, w.linear(x, `${prefix}.linear_1`)), `${prefix}.linear_2`);
}

/**
 * SDXL's added conditioning (diffusers' `get_aug_embed`, `text_time`): each time id through the same sinusoid
 * (`dim` wide), after the pooled text embedding, through `add_embedding`; added to the time embedding.
 */
function addedEmbedding(w: Weights, dim: number): Value {
  const { g } = w;
  const [, addedInput = 0] = w.shape('add_embedding.linear_1.weight');
  const pooled = g.input('text_embeds', 'float32', ['batch', addedInput - TIME_IDS * dim]);
  const timeIds = g.input('time_ids', 'float32', ['batch', TIME_IDS]);
  const half = dim / 2;
  const args = g.node('Mul', [
    g.node('Unsqueeze', [timeIds, g.int64([2])]),
    g.floatConstant(frequencies(half), [1, 1, half], 'float32'),
  ]);
  const sinusoids = g.node('Concat', [g.node('Cos', [args]), g.node('Sin', [args])], { axis: 2 });
  const flat = g.node('Reshape', [sinusoids, g.int64([0, TIME_IDS * dim])]);
  const added = g.node('Concat', [pooled, flat], { axis: 1 });
  return timestepMlp(w, fromFloat32(g, added), 'add_embedding');
}

/** The UNet's blocks, sharing the activated time embedding and the text conditioning. */
class UNetLayers {
  readonly #w: Weights;
  readonly #l: ImageLayers;
  readonly #config: UNetConfig;
  readonly #time: Value;
  readonly #context: Value;

  constructor(layers: ImageLayers, config: UNetConfig, time: Value, context: Value) {
    this.#w = layers.w;
    this.#l = layers;
    this.#config = config;
    this.#time = time;
    this.#context = context;
  }

  /** conv_in, the down blocks (keeping their outputs as skips), the mid block, the up blocks, the output head. */
  denoise(sample: Value): Value {
    const { g } = this.#w;
    const c = this.#config;
    let h = this.#l.conv(sample, 'conv_in');
    const skips = [h];
    const levels = c.blockOutChannels.length;
    for (let i = 0; i < levels; i++) {
      h = g.scoped(`down_blocks.${i}`, () => this.#downBlock(i, h, skips));
    }
    h = g.scoped('mid_block', () => {
      const heads = c.attentionHeads[levels - 1] ?? 1;
      const first = this.#resnet(h, 'mid_block.resnets.0');
      return this.#resnet(this.#transformer(first, 'mid_block.attentions.0', heads, levels - 1), 'mid_block.resnets.1');
    });
    for (let i = 0; i < levels; i++) {
      h = g.scoped(`up_blocks.${i}`, () => this.#upBlock(i, h, skips));
    }
    return this.#l.conv(this.#l.norm(h, 'conv_norm_out', c.normNumGroups, c.normEps, true), 'conv_out');
  }

  #downBlock(level: number, input: Value, skips: Value[]): Value {
    const c = this.#config;
    const prefix = `down_blocks.${level}`;
    let h = input;
    for (let j = 0; j < c.layersPerBlock; j++) {
      h = this.#resnet(h, `${prefix}.resnets.${j}`);
      if (c.downBlockTypes[level] === 'CrossAttnDownBlock2D') {
        h = this.#transformer(h, `${prefix}.attentions.${j}`, c.attentionHeads[level] ?? 1, level);
      }
      skips.push(h);
    }
    if (level < c.blockOutChannels.length - 1) {
      h = this.#l.conv(h, `${prefix}.downsamplers.0.conv`, { stride: 2 });
      skips.push(h);
    }
    return h;
  }

  #upBlock(index: number, input: Value, skips: Value[]): Value {
    const c = this.#config;
    const prefix = `up_blocks.${index}`;
    const level = c.blockOutChannels.length - 1 - index;
    let h = input;
    for (let j = 0; j <= c.layersPerBlock; j++) {
      const skip = skips.pop();
      if (!skip) throw new Error(`The UNet config has more up-block layers than skip connections (${prefix})`);
      h = this.#resnet(this.#l.concatChannels(h, skip), `${prefix}.resnets.${j}`);
      if (c.upBlockTypes[index] === 'CrossAttnUpBlock2D') {
        h = this.#transformer(h, `${prefix}.attentions.${j}`, c.attentionHeads[level] ?? 1, level);
      }
    }
    if (index < c.blockOutChannels.length - 1) {
      h = this.#l.conv(this.#l.upsample(h, skips.at(-1)), `${prefix}.upsamplers.0.conv`);
    }
    return h;
  }

  /** ResnetBlock2D with the time embedding added between its convolutions. */
  #resnet(x: Value, prefix: string): Value {
    const l = this.#l;
    const { normNumGroups: groups, normEps: eps } = this.#config;
    let h = l.conv(l.norm(x, `${prefix}.norm1`, groups, eps, true), `${prefix}.conv1`);
    const time = this.#w.linear(this.#time, `${prefix}.time_emb_proj`);
    h = l.conv(l.addNormActivate(h, time, `${prefix}.norm2`, groups, eps), `${prefix}.conv2`);
    const shortcut = this.#w.has(`${prefix}.conv_shortcut.weight`) ? l.conv(x, `${prefix}.conv_shortcut`) : x;
    return this.#w.g.node('Add', [shortcut, h]);
  }

  /** Transformer2DModel: group norm, projection in, transformer blocks over the pixels as tokens, projection out. */
  #transformer(x: Value, prefix: string, heads: number, level: number): Value {
    const l = this.#l;
    const c = this.#config;
    const [inner = 0] = this.#w.shape(`${prefix}.proj_in.weight`);
    const normed = l.norm(x, `${prefix}.norm`, c.normNumGroups, TRANSFORMER_NORM_EPS, false);
    const [channels = 0] = this.#w.shape(`${prefix}.norm.weight`);
    let tokens = c.useLinearProjection
      ? this.#w.linear(l.tokens(normed, channels), `${prefix}.proj_in`)
      : l.tokens(l.conv(normed, `${prefix}.proj_in`), inner);
    const depth = c.transformerLayersPerBlock[level] ?? 1;
    for (let k = 0; k < depth; k++) tokens = this.#block(tokens, `${prefix}.transformer_blocks.${k}`, heads);
    const out = c.useLinearProjection
      ? l.image(this.#w.linear(tokens, `${prefix}.proj_out`), x)
      : l.conv(l.image(tokens, normed), `${prefix}.proj_out`);
    return this.#w.g.node('Add', [out, x]);
  }

  /** BasicTransformerBlock: self-attention, cross-attention on the text, GEGLU feed-forward; each residual. */
  #block(x: Value, prefix: string, heads: number): Value {
    const l = this.#l;
    const upcast = this.#config.upcastAttention ?? false;
    const spec = (name: string): AttentionSpec => ({ prefix: `${prefix}.${name}`, heads, upcast });
    const norm1 = this.#w.layerNorm(x, `${prefix}.norm1`, BLOCK_NORM_EPS);
    const self = l.selfAttention(norm1, spec('attn1'));
    const first = l.residualNorm(x, self, `${prefix}.attn1.to_out.0`, `${prefix}.norm2`, BLOCK_NORM_EPS);
    const cross = l.crossAttention(first.normalized, this.#context, spec('attn2'));
    const second = l.residualNorm(first.sum, cross, `${prefix}.attn2.to_out.0`, `${prefix}.norm3`, BLOCK_NORM_EPS);
    return l.residualLinear(second.sum, l.geglu(second.normalized, `${prefix}.ff.net.0.proj`), `${prefix}.ff.net.2`);
  }
}

/**
 * `10000^(-i/half)` for `i < half`, rounded step by step as PyTorch computes it in float32 (the products with
 * timesteps near 1000 magnify a one-ulp difference past the parity tolerance).
 */
function frequencies(half: number): Float32Array {
  const logPeriod = Math.fround(-Math.log(MAX_PERIOD));
  return Float32Array.from({ length: half }, (_, i) =>
    Math.fround(Math.exp(Math.fround(Math.fround(logPeriod * i) / half))),
  );
}
