// A1111's txt2img, img2img and inpainting sampling (`processing.process_images` → the sampler's `sample` /
// `sample_img2img`, v1.10.1), for the k-diffusion samplers and A1111's own timestep samplers.
import { toModelTensor, type Rgb8Image, type RgbImage } from '../image/index.js';
import { LATENT_CHANNELS } from '../models/unet.js';
import type { StableDiffusionModel } from '../models/stable-diffusion-model.js';
import { PipelineError } from '../errors.js';
import { createGenerator, type RandomGenerator } from '../rng/index.js';
import type { ResolvedRequest } from '../request.js';
import { throwIfCancelled, type GenerateHooks } from '../steps.js';
import type { TimingRecorder } from '../timing.js';
import type { SchedulerConfig } from '../schedulers/index.js';
import { CompVisSchedule, CompVisVSchedule, ldmAlphasCumprod, rescaleZeroTerminalSnr } from './compvis.js';
import { cfgDenoiser, cfgEpsModel, type CallConditioning, type GuidanceOptions } from './cfg-denoiser.js';
import { encodeA1111Prompt, type EncodedPrompt, type PromptConditioning } from './conditioning.js';
import { promptSchedule, subPrompts } from './prompt-schedule.js';
import { ImageNoise } from './image-noise.js';
import type { KSampler } from './k-samplers.js';
import { scheduledCalls, type A1111Sampler } from './samplers.js';
import { walkedTimesteps } from './timestep-samplers.js';
import { BrownianNoise } from './brownian-tree.js';
import type { SampleContext } from './k-steps.js';
import { latentPreview } from '../preview.js';
import { noiseLevelsOf, samplerSigmas } from './sampler-sigmas.js';
import { img2imgSteps, type Img2imgPass } from './img2img-steps.js';
import { noisedInit, type NoiseScales } from './noised-init.js';
import { blendAfter, blendBefore, blendLatents, ONLY_MASKED_BLANK, prepareInpainting, vaeSample } from './inpaint.js';

/** What A1111 sampling produced: the latents and what the prompts' reading said. */
export interface A1111Latents {
  /** `[count, 4, h, w]`, the sampler's result before decoding. */
  readonly latents: Float32Array;
  readonly warnings: readonly string[];
  readonly embeddings: readonly string[];
  /** Each picture's seed (`seed + i`). */
  readonly seeds: readonly bigint[];
  /** Each picture's variation seed (`variationSeed + i`), with a variation strength. */
  readonly variationSeeds: readonly bigint[] | undefined;
  /** Inpainting: the decoded picture as A1111 saves it, the original composited on outside the mask. */
  readonly overlay: ((generated: RgbImage) => Rgb8Image) | undefined;
  /** Inpainting whose mask A1111 dropped ("Only masked" with no area): the whole picture was reworked as img2img. */
  readonly maskDropped: boolean;
}

/**
 * A request as A1111 samples it: `fixSteps` and `init` for the hires fix's second pass (`sample_hr_pass`), an
 * img2img pass from the upscaled first pass's latents `init` (`[count, 4, h, w]`, rather than the init image's).
 */
export type A1111Pass = ResolvedRequest &
  Pick<Img2imgPass, 'fixSteps'> & {
    readonly init?: Float32Array | undefined;
    /** The hires pass: the first pass's denoiser calls, which its prompt editing counts from (`hires_steps`). */
    readonly firstPassCalls?: number | undefined;
  };

/** Samples the latents of `request` (txt2img or img2img) as A1111 does with `sampler`. */
export async function sampleA1111(
  model: StableDiffusionModel,
  request: A1111Pass,
  sampler: A1111Sampler,
  hooks: GenerateHooks,
  timing: TimingRecorder,
): Promise<A1111Latents> {
  const latentWidth = request.width / 8;
  const latentHeight = request.height / 8;
  const schedule = compVisScheduleOf(model.folder.schedulerConfig);

  const conditioning = await scheduledConditioning(model, request, sampler, timing);

  const seeds = Array.from({ length: request.count }, (_, i) => request.seed + BigInt(i));
  const variationSeeds = seeds.map((_, i) => (request.variationSeed ?? 0n) + BigInt(i));
  const variation = { seeds: variationSeeds, strength: request.variationStrength };
  const noise = new ImageNoise(seeds, request.rng, [LATENT_CHANNELS, latentHeight, latentWidth], BigInt(request.ensd), variation);

  const total = a1111ModelCalls(sampler, request, schedule);
  const guidance: GuidanceOptions = {
    unet: model.unet,
    count: request.count,
    latentWidth,
    latentHeight,
    cfg: request.cfg,
    conditioningAt: conditioning.at,
    // SDXL's size conditioning (`original_size_as_tuple`, `crop_coords_top_left` at A1111's 0, 0, `target_size_as_tuple`).
    timeIds: model.second ? [request.height, request.width, 0, 0, request.height, request.width] : undefined,
    timing,
    beforeCall: () => throwIfCancelled(hooks.signal),
    // A1111's live preview shows the prediction of the clean picture (its callback's `denoised`).
    afterCall: (calls, _x, denoised) =>
      hooks.onProgress?.(calls, Math.max(total, calls), timing.elapsedMs(), request.preview ? latentPreview(denoised, request.count, latentWidth, latentHeight) : undefined),
  };
  const draw = () => noise.next();
  // Inpainting: the masks, the init latent as "Masked content" says and an inpainting UNet's conditioning.
  const inpainting = request.kind === 'inpaint' ? await prepareInpainting(model, request, imageSampleDraws(request), timing) : undefined;
  const pass = inpainting ? { ...request, init: inpainting.initLatent } : request;
  // Without a latent mask (A1111 dropped it: "Only masked" with no area) the pass is img2img, blending nothing.
  const blend = inpainting?.latentMask && { initLatent: inpainting.initLatent, latentMask: inpainting.latentMask };
  const withImage = { ...guidance, imageConditioning: inpainting?.imageConditioning };
  let latents: Float32Array;
  if (sampler.family === 'k-diffusion') {
    const sigmas = walkedSigmas(sampler, request, schedule);
    const first = Math.fround(sigmas[0] ?? NaN);
    const start = await startingPoint(model, pass, noise, timing, { image: 1, noise: first, extra: 1 });
    throwIfCancelled(hooks.signal);
    const levels = noiseLevelsOf(sampler, schedule);
    const context = { ...solverRange(request.kind, sigmas, schedule), brownian: brownianNoise(sampler, request, seeds, schedule) };
    const denoiser = cfgDenoiser({ ...withImage, levels });
    latents = await sampler.sample(blend ? blendAfter(denoiser, blend) : denoiser, start, sigmas, draw, context);
  } else {
    const { timesteps, noisedAt } = walkedTimesteps(request);
    // img2img: `x·√ᾱ + noise·√(1 − ᾱ)` at the timestep after the walked ones (txt2img: the noise as drawn).
    const at = noisedAt === undefined ? 0 : (schedule.alphasCumprod[noisedAt] ?? NaN);
    const sqrtAt = Math.fround(Math.sqrt(at));
    const scales = noisedAt === undefined ? { image: 1, noise: 1, extra: 1 } : { image: sqrtAt, noise: Math.fround(Math.sqrt(Math.fround(1 - at))), extra: sqrtAt };
    const start = await startingPoint(model, pass, noise, timing, scales);
    throwIfCancelled(hooks.signal);
    const epsModel = cfgEpsModel({ ...withImage, alphasCumprod: schedule.alphasCumprod, prediction: schedule.prediction, cfgMultiplier: sampler.cfgMultiplier });
    latents = await sampler.sample(blend ? blendBefore(epsModel, blend) : epsModel, start, timesteps, draw, schedule.alphasCumprod, request.kind !== 'txt2img');
  }
  throwIfCancelled(hooks.signal);
  return {
    // Inpainting's final blend (`StableDiffusionProcessingImg2Img.sample`).
    latents: blend ? blendLatents(latents, blend) : latents,
    overlay: inpainting?.overlay,
    maskDropped: inpainting !== undefined && !blend,
    seeds,
    variationSeeds: request.variationStrength ? variationSeeds : undefined,
    warnings: inpainting && !blend ? [...conditioning.warnings, ONLY_MASKED_BLANK] : conditioning.warnings,
    embeddings: conditioning.embeddings,
  };
}

/** The denoiser calls A1111's `sampler` makes for `request`: the unit of its progress reports. */
export function a1111ModelCalls(
  sampler: A1111Sampler,
  request: Pick<ResolvedRequest, 'kind' | 'scheduleType' | 'steps' | 'strength'> & Pick<Img2imgPass, 'fixSteps'>,
  schedule: CompVisSchedule,
): number {
  return sampler.family === 'k-diffusion'
    ? sampler.modelCalls(walkedSigmas(sampler, request, schedule))
    : sampler.modelCalls(walkedTimesteps(request).timesteps);
}

/** A prompt's encoded texts, each holding until denoiser call `endAt`. */
type Schedule = readonly { readonly endAt: number; readonly conditioning: PromptConditioning }[];

function entry(schedule: Schedule, index: number | undefined): PromptConditioning {
  const found = schedule[index ?? 0];
  if (!found) throw new RangeError(`no conditioning at schedule entry ${String(index)}`);
  return found.conditioning;
}

/** The prompts' conditioning at every denoiser call, and what reading them said. */
interface ScheduledConditioning {
  readonly at: (call: number) => CallConditioning;
  readonly warnings: readonly string[];
  readonly embeddings: readonly string[];
}

/**
 * A1111's `get_multicond_learned_conditioning` (the prompt: `AND` sub-prompts, each with its prompt-editing
 * schedule) and `get_learned_conditioning` (the negative prompt: its schedule) over the sampler's denoiser
 * calls; each distinct text is encoded once. At call `c` each takes the first text whose `endAt` ≥ `c`
 * (`reconstruct_cond_batch`).
 */
async function scheduledConditioning(
  model: StableDiffusionModel,
  request: A1111Pass,
  sampler: A1111Sampler,
  timing: TimingRecorder,
): Promise<ScheduledConditioning> {
  const calls = scheduledCalls(sampler, request.steps);
  const encoded = new Map<string, EncodedPrompt>();
  const encode = async (text: string): Promise<PromptConditioning> => {
    let known = encoded.get(text);
    if (!known) {
      known = await encodeA1111Prompt(model, text, request, timing);
      encoded.set(text, known);
    }
    return known.conditioning;
  };
  const schedules = async (text: string, zeroIfEmpty: boolean): Promise<Schedule> => {
    const scheduled = promptSchedule(text, calls, request.firstPassCalls);
    // SDXL (sgm's `force_zero_embeddings`): a negative prompt whose scheduled texts are all empty conditions on zeros.
    const zeroed = zeroIfEmpty && scheduled.every((s) => s.text === '');
    return Promise.all(
      scheduled.map(async (s) => {
        const conditioning = await encode(s.text);
        return { endAt: s.endAt, conditioning: zeroed ? zerosLike(conditioning) : conditioning };
      }),
    );
  };
  const prompts: { weight: number; schedule: Schedule }[] = [];
  for (const { text, weight } of subPrompts(request.prompt)) prompts.push({ weight, schedule: await schedules(text, false) });
  const negative = await schedules(request.negativePrompt, model.second !== undefined);

  const byKey = new Map<string, CallConditioning>();
  const at = (call: number): CallConditioning => {
    const pick = (schedule: readonly { endAt: number }[]) => Math.max(schedule.findIndex((entry) => call <= entry.endAt), 0);
    const indices = [...prompts.map((p) => pick(p.schedule)), pick(negative)];
    const key = indices.join(',');
    let conditioning = byKey.get(key);
    if (!conditioning) {
      conditioning = {
        prompts: prompts.map((p, i) => ({ weight: p.weight, conditioning: entry(p.schedule, indices[i]) })),
        negative: entry(negative, indices.at(-1)),
      };
      byKey.set(key, conditioning);
    }
    return conditioning;
  };
  const notices = [...encoded.values()].flatMap((e) => e.notices);
  return {
    at,
    warnings: [...new Set(notices)],
    embeddings: [...new Set([...encoded.values()].flatMap((e) => e.embeddings))],
  };
}

/** Conditioning of the same shape, all zeros. */
function zerosLike(conditioning: PromptConditioning): PromptConditioning {
  const { hidden, tokens, pooled } = conditioning;
  return { hidden: new Float32Array(hidden.length), tokens, ...(pooled ? { pooled: new Float32Array(pooled.length) } : {}) };
}

/**
 * The sigmas the sampler walks: the whole schedule for txt2img; for img2img the schedule of
 * `setup_img2img_steps`' length from `sigmas[steps − t_enc − 1]` on.
 */
export function walkedSigmas(
  sampler: KSampler,
  request: Pick<ResolvedRequest, 'kind' | 'scheduleType' | 'steps' | 'strength'> & Pick<Img2imgPass, 'fixSteps'>,
  schedule: CompVisSchedule,
): Float64Array {
  const { steps, tEnc } = scheduleOf(request);
  const sigmas = samplerSigmas(sampler, request.scheduleType, steps, schedule);
  return request.kind === 'txt2img' ? sigmas : sigmas.slice(steps - tEnc - 1);
}

/** The length of the schedule a pass samples on (`setup_img2img_steps` for img2img) and its `t_enc`. */
function scheduleOf(request: Pick<ResolvedRequest, 'kind' | 'steps' | 'strength'> & Pick<Img2imgPass, 'fixSteps'>): { steps: number; tEnc: number } {
  return request.kind === 'txt2img' ? { steps: request.steps, tEnc: request.steps } : img2imgSteps(request);
}

/**
 * A1111's `create_noise_sampler`: a Brownian tree per picture, seeded with its seed, between the smallest non-zero
 * and the largest level of the whole schedule (img2img too), drawing from the request's noise source. Made on
 * first use: only the SDE samplers ask.
 */
function brownianNoise(
  sampler: KSampler,
  request: A1111Pass,
  seeds: readonly bigint[],
  schedule: CompVisSchedule,
): (sigma: number, next: number) => Float32Array {
  let noise: BrownianNoise | undefined;
  return (sigma, next) => {
    if (!noise) {
      const levels = Array.from(samplerSigmas(sampler, request.scheduleType, scheduleOf(request).steps, schedule)).filter((s) => s > 0);
      const shape = [LATENT_CHANNELS, request.height / 8, request.width / 8];
      noise = new BrownianNoise(Math.min(...levels), Math.max(...levels), seeds, (seed) => createGenerator(BigInt(seed), request.rng).randn(shape));
    }
    return noise.between(sigma, next);
  };
}

/** The bounds DPM fast and DPM adaptive integrate between: the model's for txt2img, the walked schedule's for img2img. */
function solverRange(kind: ResolvedRequest['kind'], sigmas: Float64Array, schedule: CompVisSchedule): Pick<SampleContext, 'sigmaMin' | 'sigmaMax'> {
  if (kind === 'txt2img') return { sigmaMin: schedule.sigmaMin, sigmaMax: schedule.sigmaMax };
  return { sigmaMin: sigmas[sigmas.length - 2] ?? NaN, sigmaMax: sigmas[0] ?? NaN };
}

/**
 * The sampler's first latents: the first draw × `scales.noise` (txt2img), or the init latents (the init image's
 * latent sample, or the hires pass's `init`) noised with the first draw as A1111's img2img does, with its noise
 * multiplier and extra noise (see {@link noisedInit}).
 */
async function startingPoint(
  model: StableDiffusionModel,
  request: A1111Pass,
  noise: ImageNoise,
  timing: TimingRecorder,
  scales: NoiseScales,
): Promise<Float32Array> {
  if (request.kind === 'txt2img') return noise.next().map((v) => v * scales.noise);
  const image = request.init ?? (await initLatents(model, request, timing));
  return noisedInit(image, noise.next(), scales, request);
}

/**
 * The init image's latents for the batch: a sample of the VAE's distribution, `0.18215 · (mean + std · ε)`, ε
 * drawn as {@link imageSampleDraws} says.
 */
async function initLatents(model: StableDiffusionModel, request: ResolvedRequest, timing: TimingRecorder): Promise<Float32Array> {
  if (!request.initImage) throw new PipelineError('INVALID_REQUEST', 'img2img needs an init image', { field: 'initImage' });
  return vaeSample(model, toModelTensor(request.initImage), request, imageSampleDraws(request), timing);
}

/**
 * ldm draws the VAE sample's ε from torch's global CPU generator, which A1111 leaves seeded with the last
 * picture's seed of the previous generation; a repeated job finds it at `seed + count − 1`, the state used here.
 */
function imageSampleDraws(request: Pick<ResolvedRequest, 'seed' | 'count'>): RandomGenerator {
  return createGenerator(request.seed + BigInt(request.count - 1), 'cpu');
}

/**
 * The k-diffusion wrapper A1111 runs a model over, from its scheduler config: `CompVisDenoiser`, or
 * `CompVisVDenoiser` for `prediction_type: v_prediction`, over ldm's ᾱ from the beta keys (SD 1.x values when
 * absent), rescaled to zero terminal SNR (A1111's "Zero Terminal SNR" noise schedule) with
 * `rescale_betas_zero_snr`.
 * @throws {RangeError} for another prediction type.
 */
export function compVisScheduleOf(config: SchedulerConfig): CompVisSchedule {
  const read = <T>(key: string, fallback: T): T => (config[key] as T | undefined) ?? fallback;
  const trained = ldmAlphasCumprod({
    beta_start: read('beta_start', 0.00085),
    beta_end: read('beta_end', 0.012),
    num_train_timesteps: read('num_train_timesteps', 1000),
    beta_schedule: read('beta_schedule', 'scaled_linear'),
  });
  const alphasCumprod = read('rescale_betas_zero_snr', false) ? rescaleZeroTerminalSnr(trained) : trained;
  const prediction = read('prediction_type', 'epsilon');
  if (prediction === 'epsilon') return new CompVisSchedule(alphasCumprod);
  if (prediction === 'v_prediction') return new CompVisVSchedule(alphasCumprod);
  throw new RangeError(`A1111 sampling takes epsilon or v_prediction models, got prediction_type ${String(prediction)}`);
}
