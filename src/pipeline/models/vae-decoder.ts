import { PipelineError } from '../errors.js';
import type { ModelSession, RunClock } from '../runtime/session.js';
import { FloatInput, readFloats, type FloatType } from '../runtime/tensor.js';
import { fixedDim, outputOf, rejectUnknownInputs, requireTensor } from './graph-io.js';
import { LATENT_CHANNELS } from './unet.js';
import { shouldTile, tiledDecode, type VaeTiling } from './vae-tiling.js';

const INPUT = 'latent_sample';

/** The VAE decoder: latents → an image in about [−1, 1], 8× their size. */
export class VaeDecoder {
  /** The loaded model (its file and execution provider). */
  readonly session: ModelSession;
  readonly #inputType: FloatType;
  readonly #outputName: string;
  readonly #tiling: VaeTiling | undefined;

  /**
   * Wraps a loaded `vae_decoder/model.onnx`: input `latent_sample` `[1, 4, h, w]`, output `sample` `[1, 3, 8h, 8w]`.
   * @param tiling - when to decode in tiles (`vae-tiling.ts`); never without it.
   * @throws PipelineError `MODEL_UNSUPPORTED` for other layouts.
   */
  constructor(session: ModelSession, tiling?: VaeTiling) {
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
    this.#tiling = tiling;
  }

  /**
   * Decodes one image's latents (already divided by the VAE scaling factor), in tiles when its tiling says so.
   * @param latents - `[1, 4, latentHeight, latentWidth]`.
   * @returns float32 NCHW `[1, 3, 8·latentHeight, 8·latentWidth]`.
   */
  decode(latents: Float32Array, latentWidth: number, latentHeight: number, clock?: RunClock): Promise<Float32Array> {
    const whole = (tile: Float32Array, width: number, height: number): Promise<Float32Array> =>
      this.#decodeWhole(tile, width, height, clock);
    const bytesPerValue = this.#inputType === 'float16' ? 2 : 4;
    if (this.#tiling && shouldTile(this.#tiling, latentWidth, latentHeight, bytesPerValue)) {
      return tiledDecode(latents, latentWidth, latentHeight, this.#tiling.tileSize, whole);
    }
    return whole(latents, latentWidth, latentHeight);
  }

  async #decodeWhole(latents: Float32Array, latentWidth: number, latentHeight: number, clock?: RunClock): Promise<Float32Array> {
    const input = new FloatInput(this.#inputType, [1, LATENT_CHANNELS, latentHeight, latentWidth]);
    input.values.set(latents);
    const out = await this.session.run({ [INPUT]: input.tensor() }, clock);
    return readFloats(outputOf(out, this.#outputName, this.session));
  }
}
