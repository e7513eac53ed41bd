import {
  attention,
  fromFloat32,
  imageToTokens,
  silu,
  tokensToImage,
  upsampleNearest,
  toFloat32,
  type Value,
  type WrittenModel,
} from '../../onnx-writer/index.js';
import type { ComponentSource, VaeConfig } from '../../checkpoint/components.js';
import type { Weights } from './weights.js';
import { writeComponent, type GraphWriteOptions } from './write-component.js';

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
  return writeComponent('vae_encoder', source.weights, outDir, options, (w) => {
    const c = source.config;
    const sample = w.g.input('sample', 'float32', ['batch', c.inChannels, 'height', 'width']);
    const h = encoder(w, c, fromFloat32(w.g, sample));
    const moments = w.conv(h, 'quant_conv');
    w.g.output(toFloat32(w.g, moments), 'latent_parameters', 'float32', [
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
  return writeComponent('vae_decoder', source.weights, outDir, options, (w) => {
    const c = source.config;
    const latents = w.g.input('latent_sample', 'float32', ['batch', c.latentChannels, 'latent_height', 'latent_width']);
    const h = decoder(w, c, w.conv(fromFloat32(w.g, latents), 'post_quant_conv'));
    w.g.output(toFloat32(w.g, h), 'sample', 'float32', ['batch', c.outChannels, 'height', 'width']);
  });
}

function encoder(w: Weights, c: VaeConfig, input: Value): Value {
  const { g } = w;
  let h = w.conv(input, 'encoder.conv_in');
  c.blockOutChannels.forEach((_, level) => {
    h = g.scoped(`encoder.down_blocks.${level}`, () => {
      const prefix = `encoder.down_blocks.${level}`;
      let x = h;
      for (let j = 0; j < c.layersPerBlock; j++) x = resnet(w, c, x, `${prefix}.resnets.${j}`);
      // diffusers pads right and bottom by one, then convolves with stride 2 and no padding.
      const last = level === c.blockOutChannels.length - 1;
      return last ? x : w.conv(x, `${prefix}.downsamplers.0.conv`, { stride: 2, pads: [0, 0, 1, 1] });
    });
  });
  h = g.scoped('encoder.mid_block', () => midBlock(w, c, h, 'encoder.mid_block'));
  return w.conv(silu(g, w.groupNorm(h, 'encoder.conv_norm_out', c.normNumGroups, NORM_EPS)), 'encoder.conv_out');
}

function decoder(w: Weights, c: VaeConfig, latents: Value): Value {
  const { g } = w;
  let h = w.conv(latents, 'decoder.conv_in');
  h = g.scoped('decoder.mid_block', () => midBlock(w, c, h, 'decoder.mid_block'));
  c.blockOutChannels.forEach((_, index) => {
    h = g.scoped(`decoder.up_blocks.${index}`, () => {
      const prefix = `decoder.up_blocks.${index}`;
      let x = h;
      for (let j = 0; j <= c.layersPerBlock; j++) x = resnet(w, c, x, `${prefix}.resnets.${j}`);
      const last = index === c.blockOutChannels.length - 1;
      return last ? x : w.conv(upsampleNearest(g, x), `${prefix}.upsamplers.0.conv`);
    });
  });
  return w.conv(silu(g, w.groupNorm(h, 'decoder.conv_norm_out', c.normNumGroups, NORM_EPS)), 'decoder.conv_out');
}

function midBlock(w: Weights, c: VaeConfig, input: Value, prefix: string): Value {
  const first = resnet(w, c, input, `${prefix}.resnets.0`);
  return resnet(w, c, selfAttention(w, c, first, `${prefix}.attentions.0`), `${prefix}.resnets.1`);
}

/** ResnetBlock2D without a time embedding. */
function resnet(w: Weights, c: VaeConfig, x: Value, prefix: string): Value {
  const { g } = w;
  let h = w.conv(silu(g, w.groupNorm(x, `${prefix}.norm1`, c.normNumGroups, NORM_EPS)), `${prefix}.conv1`);
  h = w.conv(silu(g, w.groupNorm(h, `${prefix}.norm2`, c.normNumGroups, NORM_EPS)), `${prefix}.conv2`);
  const shortcut = w.has(`${prefix}.conv_shortcut.weight`) ? w.conv(x, `${prefix}.conv_shortcut`) : x;
  return g.node('Add', [shortcut, h]);
}

/** The mid-block attention: one head as wide as the channels, over every pixel, with a residual. */
function selfAttention(w: Weights, c: VaeConfig, x: Value, prefix: string): Value {
  const { g } = w;
  const [channels = 0] = w.shape(`${prefix}.group_norm.weight`);
  const tokens = imageToTokens(g, w.groupNorm(x, `${prefix}.group_norm`, c.normNumGroups, NORM_EPS), channels);
  const q = w.linear(tokens, `${prefix}.to_q`);
  const k = w.linear(tokens, `${prefix}.to_k`);
  const v = w.linear(tokens, `${prefix}.to_v`);
  const attended = w.linear(attention(g, q, k, v, { heads: 1, headDim: channels }), `${prefix}.to_out.0`);
  return g.node('Add', [tokensToImage(g, attended, x), x]);
}
