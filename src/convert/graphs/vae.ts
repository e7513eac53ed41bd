import type { GraphBuilder, Value, WrittenModel } from '../../onnx-writer/index.js';
import type { ComponentSource, VaeConfig } from '../../checkpoint/components.js';
import { ImageLayers } from './image-layers.js';
import { componentGraph, writeComponent, type GraphWriteOptions } from './write-component.js';

/** diffusers' AutoencoderKL normalizes with this epsilon everywhere. */
const NORM_EPS = 1e-6;

/**
 * Writes the VAE encoder of diffusers' `AutoencoderKL` as `outDir/model.onnx`: `sample` `[batch, 3, H, W]` in
 * [-1, 1] → `latent_parameters` `[batch, 2·latent, H/8, W/8]` (the mean, then the log-variance, after
 * `quant_conv`; unscaled), as the pipeline samples and scales the latents itself.
 */
export function writeVaeEncoder(
  source: ComponentSource<VaeConfig>,
  outDir: string,
  options: GraphWriteOptions,
): Promise<WrittenModel> {
  return writeComponent(vaeEncoderGraph(source, options), outDir, options);
}

/** The VAE encoder's graph in the form `options.target`, not written yet. */
export function vaeEncoderGraph(source: ComponentSource<VaeConfig>, options: GraphWriteOptions): GraphBuilder {
  return componentGraph('vae_encoder', source.weights, options, (w) => {
    const c = source.config;
    const l = new ImageLayers(w, options.target ?? 'portable');
    const sample = w.g.input('sample', 'float32', ['batch', c.inChannels, 'height', 'width']);
    const moments = l.conv(encoder(l, c, l.enter(sample)), 'quant_conv');
    w.g.output(l.leave(moments), 'latent_parameters', 'float32', [
      'batch',
      2 * c.latentChannels,
      'latent_height',
      'latent_width',
    ]);
  });
}

/**
 * Writes the VAE decoder as `outDir/model.onnx`: `latent_sample` `[batch, latent, h, w]` (already divided by the
 * scaling factor) → `sample` `[batch, 3, 8h, 8w]` in about [-1, 1].
 */
export function writeVaeDecoder(
  source: ComponentSource<VaeConfig>,
  outDir: string,
  options: GraphWriteOptions,
): Promise<WrittenModel> {
  return writeComponent(vaeDecoderGraph(source, options), outDir, options);
}

/** The VAE decoder's graph in the form `options.target`, not written yet. */
export function vaeDecoderGraph(source: ComponentSource<VaeConfig>, options: GraphWriteOptions): GraphBuilder {
  return componentGraph('vae_decoder', source.weights, options, (w) => {
    const c = source.config;
    const l = new ImageLayers(w, options.target ?? 'portable');
    const latents = w.g.input('latent_sample', 'float32', ['batch', c.latentChannels, 'latent_height', 'latent_width']);
    const h = decoder(l, c, l.conv(l.enter(latents), 'post_quant_conv'));
    w.g.output(l.leave(h), 'sample', 'float32', ['batch', c.outChannels, 'height', 'width']);
  });
}

function encoder(l: ImageLayers, c: VaeConfig, input: Value): Value {
  const { g } = l.w;
  let h = l.conv(input, 'encoder.conv_in');
  c.blockOutChannels.forEach((_, level) => {
    h = g.scoped(`encoder.down_blocks.${level}`, () => {
      const prefix = `encoder.down_blocks.${level}`;
      let x = h;
      for (let j = 0; j < c.layersPerBlock; j++) x = resnet(l, c, x, `${prefix}.resnets.${j}`);
      // diffusers pads right and bottom by one, then convolves with stride 2 and no padding.
      const last = level === c.blockOutChannels.length - 1;
      return last ? x : l.conv(x, `${prefix}.downsamplers.0.conv`, { stride: 2, pads: [0, 0, 1, 1] });
    });
  });
  h = g.scoped('encoder.mid_block', () => midBlock(l, c, h, 'encoder.mid_block'));
  return l.conv(l.norm(h, 'encoder.conv_norm_out', c.normNumGroups, NORM_EPS, true), 'encoder.conv_out');
}

function decoder(l: ImageLayers, c: VaeConfig, latents: Value): Value {
  const { g } = l.w;
  let h = l.conv(latents, 'decoder.conv_in');
  h = g.scoped('decoder.mid_block', () => midBlock(l, c, h, 'decoder.mid_block'));
  c.blockOutChannels.forEach((_, index) => {
    h = g.scoped(`decoder.up_blocks.${index}`, () => {
      const prefix = `decoder.up_blocks.${index}`;
      let x = h;
      for (let j = 0; j <= c.layersPerBlock; j++) x = resnet(l, c, x, `${prefix}.resnets.${j}`);
      const last = index === c.blockOutChannels.length - 1;
      return last ? x : l.conv(l.upsample(x), `${prefix}.upsamplers.0.conv`);
    });
  });
  return l.conv(l.norm(h, 'decoder.conv_norm_out', c.normNumGroups, NORM_EPS, true), 'decoder.conv_out');
}

function midBlock(l: ImageLayers, c: VaeConfig, input: Value, prefix: string): Value {
  const first = resnet(l, c, input, `${prefix}.resnets.0`);
  return resnet(l, c, selfAttention(l, c, first, `${prefix}.attentions.0`), `${prefix}.resnets.1`);
}

/** ResnetBlock2D without a time embedding. */
function resnet(l: ImageLayers, c: VaeConfig, x: Value, prefix: string): Value {
  let h = l.conv(l.norm(x, `${prefix}.norm1`, c.normNumGroups, NORM_EPS, true), `${prefix}.conv1`);
  h = l.conv(l.norm(h, `${prefix}.norm2`, c.normNumGroups, NORM_EPS, true), `${prefix}.conv2`);
  const shortcut = l.w.has(`${prefix}.conv_shortcut.weight`) ? l.conv(x, `${prefix}.conv_shortcut`) : x;
  return l.w.g.node('Add', [shortcut, h]);
}

/**
 * The mid-block attention: one head as wide as the channels, over every pixel, with a residual. Its projections
 * have biases, so the CUDA form feeds them to MultiHeadAttention separately.
 */
function selfAttention(l: ImageLayers, c: VaeConfig, x: Value, prefix: string): Value {
  const { w } = l;
  const [channels = 0] = w.shape(`${prefix}.group_norm.weight`);
  const tokens = l.tokens(l.norm(x, `${prefix}.group_norm`, c.normNumGroups, NORM_EPS, false), channels);
  const attended = w.linear(l.selfAttention(tokens, { prefix, heads: 1 }), `${prefix}.to_out.0`);
  return w.g.node('Add', [l.image(attended, x), x]);
}
