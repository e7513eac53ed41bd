import { PipelineError } from '../errors.js';
import type { ModelSession, RunClock } from '../runtime/session.js';
import { FloatInput, readFloats, type FloatType } from '../runtime/tensor.js';
import { fixedDim, outputOf, rejectUnknownInputs, requireTensor } from './graph-io.js';
import { LATENT_CHANNELS } from './unet.js';

const INPUT = 'sample';

/**
 * What the VAE encoder says about an image's latents: diffusers' `DiagonalGaussianDistribution`. Exports
 * with a `latent_sample` output have sampled already: `std` is then undefined and `mean` is that sample.
 */
export interface LatentDistribution {
  /** `[4, h, w]`. */
  readonly mean: Float32Array;
  /** `exp(0.5 · clamp(logvar, −30, 20))`, `[4, h, w]`. */
  readonly std: Float32Array | undefined;
}

/** The VAE encoder: an image in [−1, 1] → the distribution of its latents (1/8 of its size). */
export class VaeEncoder {
  /** The loaded model (its file and execution provider). */
  readonly session: ModelSession;
  readonly #inputType: FloatType;
  readonly #outputName: string;
  readonly #outputChannels: number;

  /**
   * Wraps a loaded `vae_encoder/model.onnx`: input `sample` `[1, 3, H, W]`, output `latent_parameters`
   * (8 channels: mean, log-variance) or `latent_sample` (4 channels).
   * @throws PipelineError `MODEL_UNSUPPORTED` for other layouts.
   */
  constructor(session: ModelSession) {
    rejectUnknownInputs(session, [INPUT]);
    const input = requireTensor(session, 'input', INPUT, ['float32', 'float16'], 4);
    const output = requireTensor(session, 'output', undefined, ['float32', 'float16'], 4);
    const channels = fixedDim(output, 1) ?? (output.name === 'latent_sample' ? LATENT_CHANNELS : 2 * LATENT_CHANNELS);
    if (channels !== LATENT_CHANNELS && channels !== 2 * LATENT_CHANNELS) {
      throw new PipelineError(
        'MODEL_UNSUPPORTED',
        `${session.file}: expected ${output.name} with 8 channels (mean, log-variance) or 4 (a sample), ` +
          `got ${channels}`,
        { file: session.file },
      );
    }
    this.session = session;
    this.#inputType = input.type as FloatType;
    this.#outputName = output.name;
    this.#outputChannels = channels;
  }

  /**
   * Encodes one image.
   * @param image - NCHW `[1, 3, height, width]` in [−1, 1]. Sides that are not multiples of 8 give latents of an
   *   eighth of them, floored (each of the encoder's three downsamplings halves a side, floored).
   */
  async encode(image: Float32Array, width: number, height: number, clock?: RunClock): Promise<LatentDistribution> {
    const input = new FloatInput(this.#inputType, [1, 3, height, width]);
    input.values.set(image);
    const out = await this.session.run({ [INPUT]: input.tensor() }, clock);
    const parameters = readFloats(outputOf(out, this.#outputName, this.session));
    const size = LATENT_CHANNELS * Math.floor(height / 8) * Math.floor(width / 8);
    if (this.#outputChannels === LATENT_CHANNELS) return { mean: parameters.slice(0, size), std: undefined };
    const std = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const logvar = Math.min(Math.max(parameters[size + i] ?? 0, -30), 20);
      std[i] = Math.exp(Math.fround(0.5 * logvar));
    }
    return { mean: parameters.slice(0, size), std };
  }
}

/**
 * `count` latent samples of `distribution`, scaled for the UNet: `(mean + std · noise) · scale` per image,
 * in float32 steps like torch. `noise` holds `[4, h, w]` draws: one, shared by every image (diffusers samples
 * once per input image and repeats the result), or `count`, one per image; it is undefined for an encoder that
 * sampled already (every image then gets `mean · scale`).
 */
export function sampleLatents(
  distribution: LatentDistribution,
  noise: Float32Array | undefined,
  count: number,
  scale: number,
): Float32Array {
  const { mean, std } = distribution;
  const out = new Float32Array(count * mean.length);
  const factor = Math.fround(scale); // torch multiplies by the scale as a float32
  for (let i = 0; i < out.length; i++) {
    const j = i % mean.length;
    const spread = std && noise ? Math.fround((std[j] ?? 0) * (noise[i % noise.length] ?? 0)) : 0;
    out[i] = Math.fround((mean[j] ?? 0) + spread) * factor;
  }
  return out;
}
