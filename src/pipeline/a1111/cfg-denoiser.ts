// A1111's `CFGDenoiser` around k-diffusion's `CompVisDenoiser` (modules/sd_samplers_cfg_denoiser.py, v1.10.1):
// the UNet's noise prediction becomes an x₀ estimate, `x − σ·ε(x / √(σ² + 1), t(σ))`, for every prompt row and
// the negative prompt's row of each image, and guidance mixes the estimates at any scale:
// `uncond + Σ w·cfg·(cond − uncond)`. Rows whose prompts have the same token count run as one UNet batch;
// otherwise the prompts' rows and the negative prompt's rows run as two.
import { LATENT_CHANNELS, type Unet, type UnetInputs } from '../models/unet.js';
import type { TimingRecorder } from '../timing.js';
import type { CompVisSchedule } from './compvis.js';
import type { PromptConditioning } from './conditioning.js';
import type { Denoiser } from './k-steps.js';

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

/** Everything the guided denoiser needs. */
export interface CfgDenoiserOptions {
  readonly unet: Unet;
  readonly schedule: CompVisSchedule;
  readonly count: number;
  readonly latentWidth: number;
  readonly latentHeight: number;
  readonly cfg: number;
  /** The conditioning of denoiser call `call` (0, 1, …): the same object while it does not change. */
  readonly conditioningAt: (call: number) => CallConditioning;
  readonly timing: TimingRecorder;
  /** Runs before each call (cancellation) and after it (progress), with the calls done. */
  readonly beforeCall: () => void;
  /** After each call: the calls so far, the latents it was given and its guided prediction of the clean latents. */
  readonly afterCall: (calls: number, x: Float32Array, denoised: Float32Array) => void;
}

/** One UNet run: which rows of the denoiser's batch it computes, with its inputs. */
interface UnetRun {
  readonly rows: readonly number[];
  readonly inputs: UnetInputs;
}

/** A1111's guided denoiser for a batch of `count` images. */
export function cfgDenoiser(options: CfgDenoiserOptions): Denoiser {
  const { unet, schedule, count, latentWidth, latentHeight, cfg, timing } = options;
  const latentSize = LATENT_CHANNELS * latentWidth * latentHeight;
  const plans = new WeakMap<CallConditioning, UnetRun[]>();
  let calls = 0;

  const runsFor = (conditioning: CallConditioning): UnetRun[] => {
    const known = plans.get(conditioning);
    if (known) return known;
    // Batch rows: image i's prompt rows (i·k … i·k + k − 1), then the n negative rows.
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
      return { rows, inputs: unet.createInputs(rows.length, latentHeight, latentWidth, hidden, rowTokens) };
    });
    plans.set(conditioning, runs);
    return runs;
  };

  return async (x, sigma) => {
    options.beforeCall();
    const start = performance.now();
    const conditioning = options.conditioningAt(calls);
    const k = conditioning.prompts.length;
    const cIn = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
    const t = schedule.sigmaToT(sigma);
    const rowCount = count * k + count;
    const denoisedRows = new Float32Array(rowCount * latentSize);
    const imageOf = (row: number): number => (row < count * k ? Math.floor(row / k) : row - count * k);
    for (const run of runsFor(conditioning)) {
      const sample = run.inputs.sample.values;
      run.rows.forEach((row, b) => {
        const image = x.subarray(imageOf(row) * latentSize, (imageOf(row) + 1) * latentSize);
        for (let j = 0; j < latentSize; j++) sample[b * latentSize + j] = f32((image[j] ?? 0) * cIn);
      });
      const eps = await unet.predict(run.inputs, t, timing.unet);
      run.rows.forEach((row, b) => {
        const base = imageOf(row) * latentSize;
        for (let j = 0; j < latentSize; j++) {
          denoisedRows[row * latentSize + j] = f32((x[base + j] ?? 0) + f32((eps[b * latentSize + j] ?? 0) * -sigma));
        }
      });
    }
    const denoised = combine(denoisedRows, conditioning, count, latentSize, cfg);
    calls += 1;
    timing.loopMs += performance.now() - start;
    timing.steps += 1;
    options.afterCall(calls, x, denoised);
    return denoised;
  };
}

/** `conditioning` lengthened to `tokens` by repeating its last token's vector. */
function padTokens(conditioning: PromptConditioning, tokens: number): PromptConditioning {
  if (conditioning.tokens === tokens) return conditioning;
  const width = conditioning.hidden.length / conditioning.tokens;
  const hidden = new Float32Array(tokens * width);
  hidden.set(conditioning.hidden);
  const last = conditioning.hidden.subarray(conditioning.hidden.length - width);
  for (let t = conditioning.tokens; t < tokens; t++) hidden.set(last, t * width);
  return { hidden, tokens };
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
