// A1111's `CFGDenoiser` (modules/sd_samplers_cfg_denoiser.py, v1.10.1) around k-diffusion's `CompVisDenoiser`
// (the UNet's noise prediction becomes an x₀ estimate, `x − σ·ε(x / √(σ² + 1), t(σ))`) or A1111's
// `CompVisTimestepsDenoiser` (the noise prediction itself), for every prompt row and the negative prompt's row of
// each image; guidance mixes the rows at any scale: `uncond + Σ w·cfg·(cond − uncond)`. Rows whose prompts have the same token count run as one UNet batch;
// otherwise the prompts' rows and the negative prompt's rows run as two.
import { LATENT_CHANNELS, type AddedConditioning, type Unet, type UnetInputs } from '../models/unet.js';
import type { TimingRecorder } from '../timing.js';
import type { NoiseLevels } from './compvis.js';
import type { PromptConditioning } from './conditioning.js';
import type { Denoiser } from './k-steps.js';
import type { EpsModel } from './timestep-samplers.js';

const f32 = Math.fround;

/** A weighted prompt of an `AND` list (one, weight 1, without `AND`). */
export interface WeightedPrompt {
  readonly conditioning: PromptConditioning;
  readonly weight: number;
}

/** What the denoiser conditions on at one call: the prompts and the negative prompt. */
export interface CallConditioning {
  readonly prompts: readonly WeightedPrompt[];
  readonly negative: PromptConditioning;
}

/** Everything A1111's guidance needs, whichever model wrapper it runs over. */
export interface GuidanceOptions {
  readonly unet: Unet;
  readonly count: number;
  readonly latentWidth: number;
  readonly latentHeight: number;
  readonly cfg: number;
  /** The conditioning of denoiser call `call` (0, 1, …): the same object while it does not change. */
  readonly conditioningAt: (call: number) => CallConditioning;
  /** SDXL's time ids for every row (original size, crop top-left, target size); undefined for SD 1.x / 2.x. */
  readonly timeIds: readonly number[] | undefined;
  readonly timing: TimingRecorder;
  /** Runs before each call (cancellation) and after it (progress), with the calls done. */
  readonly beforeCall: () => void;
  /** After each call: the calls so far, the latents it was given and its guided prediction of the clean latents. */
  readonly afterCall: (calls: number, x: Float32Array, denoised: Float32Array) => void;
  /**
   * A 9-channel (inpainting) UNet's extra input channels per picture, `[count, 5, h, w]` (A1111's `image_cond`, the
   * same for the prompt's and the negative prompt's rows); undefined for a 4-channel UNet.
   */
  readonly imageConditioning?: Float32Array | undefined;
}

/** Everything the guided denoiser of the k-diffusion samplers needs. */
export interface CfgDenoiserOptions extends GuidanceOptions {
  /** The denoiser wrapper: `CompVisDenoiser`, or LCM's. */
  readonly levels: NoiseLevels;
}

/** Everything the guided model of A1111's timestep samplers needs. */
export interface CfgEpsOptions extends GuidanceOptions {
  readonly alphasCumprod: Float32Array;
  /** `v_prediction`: A1111's `CompVisTimestepsVDenoiser` turns the UNet's v into ε before guidance. */
  readonly prediction: 'epsilon' | 'v_prediction';
  /** Multiplies the CFG scale (`cond_scale_miltiplier`). */
  readonly cfgMultiplier: number;
}

/** One UNet run: which rows of the denoiser's batch it computes, with its inputs. */
interface UnetRun {
  readonly rows: readonly number[];
  readonly inputs: UnetInputs;
}

/** One guided call: the UNet input `x · inputScale` at `timestep`; each output row becomes `toRow(x, ε)`. */
interface GuidedCall {
  readonly inputScale: number;
  readonly timestep: number;
  readonly toRow: (x: number, eps: number) => number;
  /** Multiplies the CFG scale (A1111's `cond_scale_miltiplier`: 1, or 1/12.5 for DDIM CFG++). */
  readonly cfgMultiplier: number;
}

/** What a guided call gives: the guided rows per image, the negative prompt's rows (`last_noise_uncond`), the calls so far. */
interface Guided {
  readonly combined: Float32Array;
  readonly uncond: Float32Array;
  readonly calls: number;
}

/**
 * A1111's `CFGDenoiser.forward` for a batch of `count` images: every prompt row and negative-prompt row through
 * the UNet, then `combine_denoised`. Returns the call; each call counts.
 */
function guidance(options: GuidanceOptions): (x: Float32Array, call: GuidedCall) => Promise<Guided> {
  const { unet, count, latentWidth, latentHeight, cfg, timing, imageConditioning } = options;
  const latentSize = LATENT_CHANNELS * latentWidth * latentHeight;
  // A UNet row: the latents, then (inpainting UNet) the image conditioning's channels.
  const rowSize = unet.inChannels * latentWidth * latentHeight;
  const extraSize = rowSize - latentSize;
  if (extraSize > 0 && imageConditioning?.length !== count * extraSize) {
    throw new TypeError(`a ${unet.inChannels}-channel UNet needs ${count * extraSize} values of image conditioning, got ${imageConditioning?.length ?? 0}`);
  }
  const plans = new WeakMap<CallConditioning, UnetRun[]>();
  let calls = 0;
  // Batch rows: image i's prompt rows (i·k … i·k + k − 1), then the n negative rows.
  const imageOf = (row: number, k: number): number => (row < count * k ? Math.floor(row / k) : row - count * k);

  const runsFor = (conditioning: CallConditioning): UnetRun[] => {
    const known = plans.get(conditioning);
    if (known) return known;
    const k = conditioning.prompts.length;
    const promptRows = Array.from({ length: count * k }, (_, r) => r);
    const negativeRows = Array.from({ length: count }, (_, i) => count * k + i);
    // `reconstruct_multicond_batch`: AND sub-prompts of different lengths are padded with their last vector.
    const promptTokens = Math.max(...conditioning.prompts.map((p) => p.conditioning.tokens));
    const padded = conditioning.prompts.map((p) => padTokens(p.conditioning, promptTokens));
    const rowConditioning = (row: number): PromptConditioning =>
      row < count * k ? (padded[row % k] ?? conditioning.negative) : conditioning.negative;
    const groups = promptTokens === conditioning.negative.tokens ? [[...promptRows, ...negativeRows]] : [promptRows, negativeRows];
    const runs = groups.map((rows) => {
      const parts = rows.map(rowConditioning);
      const hidden = new Float32Array(parts.reduce((sum, p) => sum + p.hidden.length, 0));
      let offset = 0;
      for (const part of parts) {
        hidden.set(part.hidden, offset);
        offset += part.hidden.length;
      }
      const rowTokens = parts[0]?.tokens ?? 0;
      const added = addedConditioning(parts, options.timeIds);
      const inputs = unet.createInputs(rows.length, latentHeight, latentWidth, hidden, rowTokens, added);
      if (imageConditioning && extraSize > 0) {
        rows.forEach((row, b) => {
          const image = imageOf(row, k);
          inputs.sample.values.set(imageConditioning.subarray(image * extraSize, (image + 1) * extraSize), b * rowSize + latentSize);
        });
      }
      return { rows, inputs };
    });
    plans.set(conditioning, runs);
    return runs;
  };

  return async (x, { inputScale, timestep, toRow, cfgMultiplier }) => {
    options.beforeCall();
    const start = performance.now();
    const conditioning = options.conditioningAt(calls);
    const k = conditioning.prompts.length;
    const rowCount = count * k + count;
    const rows = new Float32Array(rowCount * latentSize);
    for (const run of runsFor(conditioning)) {
      const sample = run.inputs.sample.values;
      run.rows.forEach((row, b) => {
        const image = x.subarray(imageOf(row, k) * latentSize, (imageOf(row, k) + 1) * latentSize);
        for (let j = 0; j < latentSize; j++) sample[b * rowSize + j] = f32((image[j] ?? 0) * inputScale);
      });
      const eps = await unet.predict(run.inputs, timestep, timing.unet);
      run.rows.forEach((row, b) => {
        const base = imageOf(row, k) * latentSize;
        for (let j = 0; j < latentSize; j++) rows[row * latentSize + j] = toRow(x[base + j] ?? 0, eps[b * latentSize + j] ?? 0);
      });
    }
    const combined = combine(rows, conditioning, count, latentSize, cfg * cfgMultiplier);
    calls += 1;
    timing.loopMs += performance.now() - start;
    timing.steps += 1;
    return { combined, uncond: rows.subarray(count * k * latentSize), calls };
  };
}

/**
 * A1111's guided denoiser over a k-diffusion wrapper: each row's estimate from `ε(x / √(σ² + 1), t(σ))` (for
 * `CompVisDenoiser` `x − σ·ε`), then guidance on the estimates.
 */
export function cfgDenoiser(options: CfgDenoiserOptions): Denoiser {
  const guide = guidance(options);
  return async (x, sigma) => {
    const { combined, calls } = await guide(x, {
      inputScale: f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1)))),
      timestep: options.levels.sigmaToT(sigma),
      toRow: (value, eps) => options.levels.denoised(value, eps, sigma),
      cfgMultiplier: 1,
    });
    options.afterCall(calls, x, combined);
    return combined;
  };
}

/**
 * A1111's guided `CompVisTimestepsDenoiser` (`CompVisTimestepsVDenoiser` for v models): the UNet's ε for the unscaled latents at timestep `t`, guided on ε.
 * Progress previews show `x̂₀ = (x − √(1 − ᾱ_t)·ε) / √ᾱ_t` (`get_pred_x0`, ᾱ at the integer part of t).
 */
export function cfgEpsModel(options: CfgEpsOptions): EpsModel {
  const guide = guidance(options);
  return async (x, t) => {
    const at = options.alphasCumprod[Math.trunc(t)] ?? NaN;
    const sqrtOneMinusAt = f32(Math.sqrt(f32(1 - at)));
    const sqrtAt = f32(Math.sqrt(at));
    // `predict_eps_from_z_and_v`: ε = √ᾱ·v + √(1 − ᾱ)·x, ᾱ at the integer part of t.
    const toRow = options.prediction === 'v_prediction' ? (value: number, v: number) => f32(f32(sqrtAt * v) + f32(sqrtOneMinusAt * value)) : (_value: number, eps: number) => eps;
    const { combined, uncond, calls } = await guide(x, { inputScale: 1, timestep: t, toRow, cfgMultiplier: options.cfgMultiplier });
    options.afterCall(calls, x, x.map((v, i) => f32(f32(v - f32(sqrtOneMinusAt * (combined[i] ?? 0))) / sqrtAt)));
    return { eps: combined, uncond };
  };
}

/** SDXL's `vector` conditioning of a UNet run's rows: each row's pooled text projection, and the time ids. */
function addedConditioning(parts: readonly PromptConditioning[], timeIds: readonly number[] | undefined): AddedConditioning | undefined {
  if (!timeIds) return undefined;
  const textEmbeds = new Float32Array(parts.reduce((sum, p) => sum + (p.pooled?.length ?? 0), 0));
  let offset = 0;
  for (const part of parts) {
    if (part.pooled) textEmbeds.set(part.pooled, offset);
    offset += part.pooled?.length ?? 0;
  }
  return { textEmbeds, timeIds: Float32Array.from(parts.flatMap(() => timeIds)) };
}

/** `conditioning` lengthened to `tokens` by repeating its last token's vector. */
function padTokens(conditioning: PromptConditioning, tokens: number): PromptConditioning {
  if (conditioning.tokens === tokens) return conditioning;
  const width = conditioning.hidden.length / conditioning.tokens;
  const hidden = new Float32Array(tokens * width);
  hidden.set(conditioning.hidden);
  const last = conditioning.hidden.subarray(conditioning.hidden.length - width);
  for (let t = conditioning.tokens; t < tokens; t++) hidden.set(last, t * width);
  return { ...conditioning, hidden, tokens };
}

/** `combine_denoised`: `uncond + Σ (cond − uncond)·(w·cfg)` per image, float32 like torch. */
function combine(rows: Float32Array, conditioning: CallConditioning, count: number, size: number, cfg: number): Float32Array {
  const k = conditioning.prompts.length;
  const out = rows.slice(count * k * size, (count * k + count) * size);
  for (let i = 0; i < count; i++) {
    conditioning.prompts.forEach(({ weight }, j) => {
      const scale = f32(weight * cfg);
      const cond = (i * k + j) * size;
      for (let e = 0; e < size; e++) {
        const uncond = rows[(count * k + i) * size + e] ?? 0;
        out[i * size + e] = (out[i * size + e] ?? 0) + f32(f32((rows[cond + e] ?? 0) - uncond) * scale);
      }
    });
  }
  return out;
}
