// The steps every task shares (diffusers' `encode_prompt`, the denoising loop, `decode_latents`), used by the
// task scripts txt2img.ts, img2img.ts and inpaint.ts.
import { PipelineError } from './errors.js';
import { guideOutput } from './guidance.js';
import { fromModelOutput, type Rgb8Image, type RgbImage } from './image/index.js';
import type { StableDiffusionModel } from './models/stable-diffusion-model.js';
import { LATENT_CHANNELS, type AddedConditioning, type UnetInputs } from './models/unet.js';
import { sampleLatents } from './models/vae-encoder.js';
import { latentPreview } from './preview.js';
import type { ResolvedRequest } from './request.js';
import type { Scheduler } from './schedulers/index.js';
import { encodeSdxlPrompt } from './sdxl-prompt.js';
import type { BatchNoise } from './seeds.js';
import type { TimingRecorder } from './timing.js';
import { applyPromptWeights, tokenizePromptPair } from './tokenizer/index.js';

/**
 * Called after every denoising step.
 * @param step - steps done, 1 … total.
 * @param total - UNet evaluations this generation makes.
 * @param elapsedMs - since the generation started.
 * @param preview - with `preview: true` in the request: each image's latents as a cheap RGB picture at 1/8
 *   size (see `latentPreview`).
 */
export type ProgressCallback = (step: number, total: number, elapsedMs: number, preview?: readonly Rgb8Image[]) => void;

/** What the caller attaches to a running generation. */
export interface GenerateHooks {
  /** Cancels between steps: the generation rejects with `CANCELLED`, and the pipeline stays ready. */
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressCallback;
}

/** The text conditioning of a batch, as the UNet takes it. */
export interface Conditioning {
  /** `[batch, tokens, hiddenSize]`: with guidance the n negative rows first, then the n prompt rows. */
  readonly hidden: Float32Array;
  /** UNet batch: 2n with classifier-free guidance, else n. */
  readonly batch: number;
  /** Context tokens per row: 77 per prompt chunk. */
  readonly tokens: number;
  /** Whether the batch carries the negative half (guidance scale above 1). */
  readonly guided: boolean;
  /** What prompt parsing dropped or ignored, for the user. */
  readonly warnings: readonly string[];
  /** The textual-inversion embeddings either prompt called, each once. */
  readonly embeddings: readonly string[];
  /** SDXL's pooled text embedding and time ids per batch row; undefined for SD 1.x / 2.x. */
  readonly added?: AddedConditioning;
}

/** Everything a task script needs for one generation. */
export interface Job {
  readonly model: StableDiffusionModel;
  readonly request: ResolvedRequest;
  readonly conditioning: Conditioning;
  /** A fresh scheduler for this job (schedulers keep step state). */
  readonly scheduler: Scheduler;
  readonly noise: BatchNoise;
  readonly hooks: GenerateHooks;
  readonly timing: TimingRecorder;
  readonly latentWidth: number;
  readonly latentHeight: number;
}

/** Extras of the denoising loop for inpainting. */
export interface DenoiseOptions {
  /**
   * UNet input channels after the 4 latent ones, per image, the same at every step: `[count, C − 4, h, w]`
   * (the 9-channel inpainting UNet's mask and masked-image latents).
   */
  readonly extraChannels?: Float32Array;
  /** Runs after step `index` updated `latents` (legacy inpainting puts the known region back here). */
  readonly afterStep?: (index: number, latents: Float32Array) => void;
}

/**
 * diffusers' `encode_prompt`: tokenizes the prompt and the negative prompt, encodes every 77-token window in
 * one text-encoder batch, applies A1111 attention weights per window, concatenates each prompt's windows along
 * the token axis and repeats them for the batch. The negative prompt is encoded only with guidance (cfg > 1).
 * SDXL's two encoders: see `encodeSdxlPrompt`.
 */
export async function encodePrompt(
  model: StableDiffusionModel,
  request: ResolvedRequest,
  timing: TimingRecorder,
): Promise<Conditioning> {
  if (model.second) return encodeSdxlPrompt(model, model.second, request, timing);
  const { tokenizer, embeddings } = model;
  const tokens = tokenizePromptPair(tokenizer, request.prompt, request.negativePrompt, request.promptSyntax, embeddings);
  const guided = request.cfg > 1;
  const sides = guided ? [tokens.negative, tokens.prompt] : [tokens.prompt];
  // diffusers applies `clip_skip` to the prompt alone; A1111 reads the negative prompt at the same layer too.
  const negativeClipSkip = request.promptSyntax === 'a1111' ? request.clipSkip : 1;
  const clipSkips = guided ? [negativeClipSkip, request.clipSkip] : [request.clipSkip];
  const windows = sides.flatMap((side) => side.chunks);
  const weights = sides.flatMap((side) => side.weights);
  const encoded = await encodeSides(model, sides.map((side, i) => ({ windows: side.chunks, clipSkip: clipSkips[i] ?? 1 })), timing);
  const windowSize = encoded.length / windows.length;
  weights.forEach((w, i) => {
    applyPromptWeights(encoded.subarray(i * windowSize, (i + 1) * windowSize), w, model.hiddenSize);
  });

  // Each side's windows are consecutive in `encoded`: one row of the UNet batch, repeated per image.
  const row = windowSize * tokens.prompt.chunks.length;
  const n = request.count;
  const hidden = new Float32Array(sides.length * n * row);
  sides.forEach((_, side) => {
    for (let i = 0; i < n; i++) hidden.set(encoded.subarray(side * row, (side + 1) * row), (side * n + i) * row);
  });
  return {
    hidden,
    batch: sides.length * n,
    tokens: row / model.hiddenSize,
    guided,
    warnings: tokens.warnings,
    embeddings: [...new Set(sides.flatMap((side) => side.embeddings))],
  };
}

/** Each side's windows, consecutive; in one text-encoder batch when every side reads the same layer. */
async function encodeSides(
  model: StableDiffusionModel,
  sides: readonly { windows: readonly Int32Array[]; clipSkip: number }[],
  timing: TimingRecorder,
): Promise<Float32Array> {
  const [first] = sides;
  if (first && sides.every((side) => side.clipSkip === first.clipSkip)) {
    return encodeWindows(model, sides.flatMap((side) => side.windows), first.clipSkip, timing);
  }
  const parts = [];
  for (const side of sides) parts.push(await encodeWindows(model, side.windows, side.clipSkip, timing));
  const encoded = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    encoded.set(part, offset);
    offset += part.length;
  }
  return encoded;
}

function encodeWindows(
  model: StableDiffusionModel,
  windows: readonly Int32Array[],
  clipSkip: number,
  timing: TimingRecorder,
): Promise<Float32Array> {
  return model.textEncoder.encode(windows, { clipSkip, embeddings: model.embeddings.rows }, timing.textEncoder);
}

/**
 * The denoising loop (diffusers' step 7): for each timestep, scale the latents, run the UNet on the batch
 * (twice the latents with guidance), guide, and step the scheduler, updating `latents` in place. Buffers are
 * allocated once per loop. Checks the cancel signal before every step and reports progress after it.
 * @param latents - `[count, 4, h, w]`, updated in place.
 * @throws PipelineError `CANCELLED` when the signal fires.
 */
export async function denoise(
  job: Job,
  latents: Float32Array,
  timesteps: Float64Array,
  options: DenoiseOptions = {},
): Promise<void> {
  const { model, request, conditioning, scheduler, noise, hooks, timing, latentWidth, latentHeight } = job;
  const n = request.count;
  const plane = latentWidth * latentHeight;
  const latentSize = LATENT_CHANNELS * plane;
  const rowSize = model.unet.inChannels * plane;
  const { batch, hidden, tokens } = conditioning;
  // Both guidance halves take the same n rows: the UNet input converts them once and repeats them.
  const unetInputs = model.unet.createInputs(batch, latentHeight, latentWidth, hidden, tokens, conditioning.added, batch / n);
  // With guidance, each run's output is guided as it is read: a float32 one in place, an fp16 one decoded in the
  // same pass into one buffer kept from step to step, made at the first step (empty for a float32 output).
  let guided: Float32Array | undefined;
  const inputs: UnetInputs = conditioning.guided
    ? {
        ...unetInputs,
        prediction: (output) => guideOutput(output, request.cfg, (guided ??= new Float32Array(output.type === 'float16' ? latents.length : 0))),
      }
    : unetInputs;
  const sample = inputs.sample.values;
  // Sample row b holds image b: [latents (4 channels), extra channels]; the extras never change.
  if (options.extraChannels) writeRows(sample, options.extraChannels, rowSize - latentSize, rowSize, latentSize);

  for (let i = 0; i < timesteps.length; i++) {
    throwIfCancelled(hooks.signal);
    const stepStart = performance.now();
    const t = timesteps[i] ?? 0;
    const scaled = scheduler.scaleModelInput(latents, t);
    const scaledAt = performance.now();
    writeRows(sample, scaled, latentSize, rowSize, 0);
    const prediction = await model.unet.predict(inputs, t, timing.unet);
    const stepAt = performance.now();
    scheduler.step(prediction, t, latents, noise.generator);
    timing.schedulerMs += scaledAt - stepStart + (performance.now() - stepAt);
    options.afterStep?.(i, latents);
    const preview = request.preview ? latentPreview(latents, n, latentWidth, latentHeight) : undefined;
    timing.loopMs += performance.now() - stepStart;
    timing.steps += 1;
    hooks.onProgress?.(i + 1, timesteps.length, timing.elapsedMs(), preview);
  }
  throwIfCancelled(hooks.signal);
}

/**
 * Copies image `b` of `source` (`size` values per image) into row `b` of `target` (`rowSize` values per row), at
 * `offset` within the row.
 */
function writeRows(target: Float32Array, source: Float32Array, size: number, rowSize: number, offset: number): void {
  const rows = target.length / rowSize;
  for (let b = 0; b < rows; b++) target.set(source.subarray(b * size, (b + 1) * size), b * rowSize + offset);
}

/**
 * Encodes `image` with the VAE and samples its latents for the batch, scaled by the VAE factor: diffusers'
 * `_encode_vae_image` (`retrieve_latents(..., generator)` then `× scaling_factor`). Draws
 * {@link BatchNoise.sharedDraws} samples from the job's generator (none for an encoder that samples itself).
 * @param image - NCHW `[1, 3, H, W]` in [−1, 1] (see `toModelTensor`).
 * @returns `[count, 4, h, w]`.
 */
export async function encodeImage(job: Job, image: Float32Array): Promise<Float32Array> {
  const { model, request, noise, timing, latentWidth, latentHeight } = job;
  if (!model.vaeEncoder) {
    throw new PipelineError(
      'MODEL_MISSING_FILE',
      `${request.kind} needs the VAE encoder, but ${model.folder.dir} has no vae_encoder/model.onnx`,
      { file: model.folder.dir },
    );
  }
  const distribution = await model.vaeEncoder.encode(image, request.width, request.height, timing.vaeEncoder);
  const draws = distribution.std
    ? noise.generator.randn([noise.sharedDraws, LATENT_CHANNELS, latentHeight, latentWidth])
    : undefined;
  return sampleLatents(distribution, draws, request.count, model.folder.vaeScalingFactor);
}

/**
 * diffusers' `decode_latents` + postprocessing: each image's latents divided by the VAE scaling factor,
 * decoded (one image per VAE run, as diffusers' ONNX pipelines do, which bounds memory), mapped to [0, 1] HWC.
 */
export async function decodeImages(
  job: Pick<Job, 'model' | 'request' | 'timing' | 'hooks' | 'latentWidth' | 'latentHeight'>,
  latents: Float32Array,
): Promise<RgbImage[]> {
  const { model, request, timing, latentWidth, latentHeight } = job;
  const latentSize = LATENT_CHANNELS * latentWidth * latentHeight;
  const scale = Math.fround(model.folder.vaeScalingFactor);
  const images: RgbImage[] = [];
  for (let i = 0; i < request.count; i++) {
    throwIfCancelled(job.hooks.signal);
    const unscaled = latents.subarray(i * latentSize, (i + 1) * latentSize).map((v) => v / scale);
    const decoded = await model.vaeDecoder.decode(unscaled, latentWidth, latentHeight, timing.vaeDecoder);
    images.push(...fromModelOutput(decoded, 1, request.height, request.width));
  }
  return images;
}

/** Multiplies `values` by `factor` in place (float32 result), e.g. initial noise × `initNoiseSigma`. */
export function scaleInPlace(values: Float32Array, factor: number): Float32Array {
  const f = Math.fround(factor);
  for (let i = 0; i < values.length; i++) values[i] = (values[i] ?? 0) * f;
  return values;
}

/** @throws PipelineError `CANCELLED` when `signal` has fired. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new PipelineError('CANCELLED', 'The generation was cancelled', {}, { cause: signal.reason });
  }
}
