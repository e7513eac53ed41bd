import { PipelineError } from '../errors.js';
import type { ModelSession, RunClock } from '../runtime/session.js';
import { FloatInput, readFloats, type FloatType } from '../runtime/tensor.js';
import { fixedDim, outputOf, rejectUnknownInputs, requireTensor } from './graph-io.js';
import { LATENT_CHANNELS } from './unet.js';
import { shouldTile, tiledDecode, type VaeTiling } from './vae-tiling.js';

const INPUT = 'latent_sample';

/**
 * An fp32 decoder for the pictures an fp16 decoder overflows on (SDXL's VAE does in fp16: its activations pass
 * 65504, and the picture comes out NaN, black).
 */
export interface VaeFallback {
  /** Loads the fp32 decoder; called on the first overflow only. */
  readonly load: () => Promise<VaeDecoder>;
  /** Told each time a picture is decoded again in fp32. */
  readonly onOverflow?: () => void;
}

/** What a {@link VaeDecoder} does beyond one run per picture. */
export interface VaeDecoderOptions {
  /**
   * With it, every picture is checked for NaN and infinities, and one that has any is decoded again by the
   * fallback's fp32 decoder.
   */
  readonly fallback?: VaeFallback;
  /** When to decode in tiles (`vae-tiling.ts`); never without it. */
  readonly tiling?: VaeTiling;
}

/** The VAE decoder: latents → an image in about [−1, 1], 8× their size. */
export class VaeDecoder {
  /** The loaded model (its file and execution provider). */
  readonly session: ModelSession;
  readonly #inputType: FloatType;
  readonly #outputName: string;
  readonly #fallback: VaeFallback | undefined;
  readonly #tiling: VaeTiling | undefined;
  #fp32: Promise<VaeDecoder> | undefined;

  /**
   * Wraps a loaded `vae_decoder/model.onnx`: input `latent_sample` `[1, 4, h, w]`, output `sample` `[1, 3, 8h, 8w]`.
   * @throws PipelineError `MODEL_UNSUPPORTED` for other layouts.
   */
  constructor(session: ModelSession, options: VaeDecoderOptions = {}) {
    rejectUnknownInputs(session, [INPUT]);
    const input = requireTensor(session, 'input', INPUT, ['float32', 'float16'], 4);
    const output = requireTensor(session, 'output', undefined, ['float32', 'float16'], 4);
    const channels = fixedDim(input, 1);
    if (channels !== undefined && channels !== LATENT_CHANNELS) {
      const reason = `${session.file}: expected ${INPUT} with 4 channels, got ${channels}`;
      throw new PipelineError('MODEL_UNSUPPORTED', reason, { file: session.file });
    }
    this.session = session;
    this.#inputType = input.type as FloatType;
    this.#outputName = output.name;
    this.#fallback = options.fallback;
    this.#tiling = options.tiling;
  }

  /**
   * Decodes one image's latents (already divided by the VAE scaling factor), in tiles when its tiling says so.
   * @param latents - `[1, 4, latentHeight, latentWidth]`.
   * @returns float32 NCHW `[1, 3, 8·latentHeight, 8·latentWidth]`.
   */
  async decode(
    latents: Float32Array,
    latentWidth: number,
    latentHeight: number,
    clock?: RunClock,
  ): Promise<Float32Array> {
    const whole = (tile: Float32Array, width: number, height: number): Promise<Float32Array> =>
      this.#decodeWhole(tile, width, height, clock);
    const bytesPerValue = this.#inputType === 'float16' ? 2 : 4;
    const picture =
      this.#tiling && shouldTile(this.#tiling, latentWidth, latentHeight, bytesPerValue)
        ? await tiledDecode(latents, latentWidth, latentHeight, this.#tiling.tileSize, whole)
        : await whole(latents, latentWidth, latentHeight);
    if (!this.#fallback || allFinite(picture)) return picture;
    this.#fallback.onOverflow?.();
    return (await this.#fp32Decoder(this.#fallback)).decode(latents, latentWidth, latentHeight, clock);
  }

  async #decodeWhole(latents: Float32Array, latentWidth: number, latentHeight: number, clock?: RunClock): Promise<Float32Array> {
    const input = new FloatInput(this.#inputType, [1, LATENT_CHANNELS, latentHeight, latentWidth]);
    input.values.set(latents);
    const out = await this.session.run({ [INPUT]: input.tensor() }, clock);
    return readFloats(outputOf(out, this.#outputName, this.session));
  }

  /** The fallback's decoder, loaded once (again after a failed load). */
  #fp32Decoder(fallback: VaeFallback): Promise<VaeDecoder> {
    if (!this.#fp32) {
      const loading = fallback.load();
      this.#fp32 = loading;
      loading.catch(() => (this.#fp32 = undefined));
    }
    return this.#fp32;
  }
}

/** Whether no value is NaN or ±infinity (x − x is 0 for every finite x, NaN otherwise). */
function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0;
    if (v - v !== 0) return false;
  }
  return true;
}
