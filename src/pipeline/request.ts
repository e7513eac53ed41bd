import { PipelineError } from './errors.js';
import type { Mask, RgbImage } from './image/index.js';
import { MAX_SEED, randomSeed, type RngSource } from './rng/index.js';
import { isDiffusersSampler, parseSamplerName, samplerLabel, type SchedulerId } from './schedulers/index.js';
import type { NetworkPatch } from './lora/patch.js';
import { EMPHASIS_MODES, type Emphasis, type PromptSyntax } from './tokenizer/index.js';
import { a1111SamplerFor } from './a1111/samplers.js';
import { walkedTimesteps } from './a1111/timestep-samplers.js';
import { UNIPC_ORDER } from './a1111/unipc.js';
import { parseScheduleType, type ScheduleType } from './a1111/schedule-types.js';

/**
 * Whose sampling a request reproduces:
 * - `diffusers`: diffusers' schedulers and batch conventions (what the `references` fixtures hold);
 * - `a1111`: AUTOMATIC1111 v1.10's: k-diffusion samplers over `CompVisDenoiser` sigmas with A1111's schedule
 *   types, one generator per picture, guidance at any scale, a prompt and a negative prompt of different lengths
 *   run apart, img2img's `t_enc` rule, its inpainting. Samplers without a port (DEIS, DDPM, DPM++ 2S, the
 *   v-prediction variants) run as in `diffusers` mode, with per-image seeds.
 */
export type Compat = 'diffusers' | 'a1111';

/**
 * How the seeds of a batch of `count` images relate:
 * - `batch`: one generator seeded with `seed` draws the noise of the whole batch (diffusers' `generator=`);
 *   with rng `cpu` this reproduces diffusers exactly.
 * - `per-image`: image `i` has its own generator seeded with `seed + i` (AUTOMATIC1111), so any image can be
 *   re-made alone from its seed.
 */
export type SeedMode = 'batch' | 'per-image';

/**
 * One generation. Only `prompt` is required; the defaults are dreamcord's product defaults
 * (`config/default.json`). With `initImage` it is img2img, with `initImage` and `mask` inpainting.
 */
export interface GenerateRequest {
  readonly prompt: string;
  /** What to steer away from. @default '' (diffusers' unconditional prompt) */
  readonly negativePrompt?: string;
  /** `plain` (diffusers: truncated at 75 tokens) or `a1111` (attention weights, unlimited chunks). @default 'a1111' */
  readonly promptSyntax?: PromptSyntax;
  /** 0 … 2^64−1. @default a random integer 0 … 2^32−1 (reported in the result) */
  readonly seed?: number | bigint;
  /** @default 'batch' with rng `cpu`, 'per-image' with rng `gpu` (each matches its reference program) */
  readonly seedMode?: SeedMode;
  /**
   * Noise source: torch's CPU generator (`cpu`, diffusers) or its CUDA generator (`gpu`, A1111's default).
   * @default 'gpu'
   */
  readonly rng?: RngSource;
  /** Denoising steps, 1–150. @default 25 */
  readonly steps?: number;
  /**
   * A1111's clip skip, 1–12: the prompt's vectors come from the text encoder's k-th layer from the end (1 = the
   * last), through its final layer norm; diffusers' `clip_skip` is this minus 1. With `promptSyntax` `a1111` the
   * negative prompt is read at the same layer (A1111), with `plain` at the last (diffusers). Above 1 it needs a
   * model converted by dreamcord (`ModelInfo.maxClipSkip`). @default 1
   */
  readonly clipSkip?: number;
  /** Classifier-free guidance scale, 0–50; ≤ 1 skips the negative prompt (a UNet batch of n, not 2n). @default 7 */
  readonly cfg?: number;
  /** Sampler: a scheduler id (`euler_a`) or an A1111 name (`Euler a`, `DPM++ 2M Karras`). @default 'dpmpp_2m_karras' */
  readonly sampler?: string;
  /** Pixels, a multiple of 8 in 64–4096. @default the init image's width rounded down to a multiple of 8; 512 */
  readonly width?: number;
  /** Pixels, a multiple of 8 in 64–4096. @default the init image's height rounded down to a multiple of 8; 512 */
  readonly height?: number;
  /** Images to make, 1–16, in one UNet batch. @default 1 */
  readonly count?: number;
  /** The image to start from (img2img, inpainting); resized (Lanczos) when not `width × height`. */
  readonly initImage?: RgbImage;
  /**
   * With `initImage`: what to repaint (1 = repaint), resized to the image when needed. A1111's inpainting keeps its
   * grey levels (as 8-bit); diffusers' binarizes it at 0.5.
   */
  readonly mask?: Mask;
  /**
   * How far from `initImage` to go, (0, 1]: the share of the steps that run. Must leave at least one step
   * (`⌊steps · strength⌋ ≥ 1`). @default 0.75 for img2img, 1 for inpainting
   */
  readonly strength?: number;
  /** Whose sampling to reproduce (see {@link Compat}). @default 'diffusers' */
  readonly compat?: Compat;
  /**
   * A1111's "Schedule type" (`Karras`, `Uniform`, `Exponential`, …; `Automatic` = the sampler's default), with
   * `compat` `a1111` only. @default 'Automatic'
   */
  readonly scheduleType?: string;
  /** A1111's emphasis mode for `(word:1.2)` weights (`Original`, `No norm`, `None`). @default 'Original' */
  readonly emphasis?: Emphasis;
  /** A1111's eta noise seed delta (`ENSD`), with `compat` `a1111`: ancestral noise from `seed + ensd`. @default 0 */
  readonly ensd?: number;
  /**
   * A1111's "Variation strength", 0–1, with `compat` `a1111`: each picture's initial noise moves by this much (slerp)
   * towards the noise of its variation seed. @default 0
   */
  readonly variationStrength?: number;
  /** A1111's "Variation seed" (picture i takes `variationSeed + i`). @default random when `variationStrength` > 0 */
  readonly variationSeed?: number | bigint;
  /**
   * A1111's "Noise multiplier for img2img" (`initial_noise_multiplier`, infotext `Noise multiplier`), 0–1.5, for
   * img2img and inpainting with `compat` a1111 and a sampler A1111 runs: the first noise draw is multiplied by it
   * before it noises the init latents (A1111's txt2img and its hires pass do not use it). @default 1
   */
  readonly noiseMultiplier?: number;
  /**
   * A1111's "Extra noise multiplier for img2img and hires fix" (`img2img_extra_noise`, infotext `Extra noise`), 0–1,
   * with `compat` a1111 and a sampler A1111 runs, for img2img, inpainting and a hires fix's second pass: the noised
   * init latents get that much of the noise once more. @default 0
   */
  readonly extraNoise?: number;
  /** Pass a cheap latent preview to every progress callback. @default false */
  readonly preview?: boolean;
  /**
   * LoRAs to merge into the text encoder and the UNet for this generation, in order (read by the caller, e.g. with
   * dreamcord's `networks` module); needs a model converted by dreamcord (`ModelInfo.patchableWeights`).
   * @default none
   */
  readonly networks?: readonly NetworkPatch[];
  /** A1111's hires fix (txt2img only): a second pass at a larger size. @default none */
  readonly hires?: HiresOptions;
  /** A1111's inpainting settings (with `mask`, `compat` a1111 and a sampler A1111 runs). @default A1111's */
  readonly inpaint?: InpaintOptions;
}

/**
 * A1111's "Masked content": what the masked area starts from: the picture (`original`), the colours around it
 * blurred into it (`fill`), each picture's noise (`latent noise`) or zeros (`latent nothing`).
 */
export const MASKED_CONTENTS = ['original', 'fill', 'latent noise', 'latent nothing'] as const;
export type MaskedContent = (typeof MASKED_CONTENTS)[number];

/** A1111's inpainting settings. */
export interface InpaintOptions {
  /** A1111's "Mask blur": the σ in pixels of the Gaussian blur on the mask, 0–64. @default 4 */
  readonly maskBlur?: number;
  /** @default 'original' (A1111's default in its img2img tab) */
  readonly maskedContent?: MaskedContent;
  /** A1111's "Mask mode: Inpaint not masked": repaint what the mask leaves out. @default false */
  readonly invertMask?: boolean;
  /**
   * A1111's "Conditional mask weight" (`inpainting_mask_weight`), for inpainting models, 0–1: how far the masked
   * area of the picture the UNet is conditioned on moves to 0. @default 1
   */
  readonly maskWeight?: number;
  /**
   * A1111's "Inpaint area: Only masked": the mask's area (with `maskedPadding` around it, grown to the working size's
   * ratio) cut from `initImage`, which keeps its own size, is inpainted at `width × height` and pasted back; the
   * pictures come out at `initImage`'s size. @default false ("Whole picture")
   */
  readonly onlyMasked?: boolean;
  /** A1111's "Only masked padding, pixels", 0–256. @default 32 */
  readonly maskedPadding?: number;
}

/** {@link InpaintOptions} checked and completed. */
export interface ResolvedInpaint {
  readonly maskBlur: number;
  readonly maskedContent: MaskedContent;
  readonly invertMask: boolean;
  readonly maskWeight: number;
  readonly onlyMasked: boolean;
  readonly maskedPadding: number;
}

/**
 * How A1111's hires fix upscales the first pass: in latent space (its "Latent" upscaler, bilinear, and "Latent
 * (nearest)"), or in pixels ("Lanczos": decoded, resized with a Lanczos-3 filter, encoded again).
 */
export const HIRES_UPSCALERS = ['latent', 'latent-nearest', 'lanczos'] as const;
export type HiresUpscaler = (typeof HIRES_UPSCALERS)[number];

/** A1111's name of each upscaler, as its infotext writes it (`Hires upscaler`). */
export const HIRES_UPSCALER_LABELS: Readonly<Record<HiresUpscaler, string>> = {
  latent: 'Latent',
  'latent-nearest': 'Latent (nearest)',
  lanczos: 'Lanczos',
};

/**
 * A1111's hires fix: the picture is made at `width × height`, upscaled by `scale`, and denoised again at the
 * target size by an img2img pass of its own strength and steps.
 */
export interface HiresOptions {
  /** 1–4 (A1111's "Upscale by"); each target side is `⌊side · scale / 8⌋ · 8`. */
  readonly scale: number;
  /** @default 'latent' (A1111's default, "Latent") */
  readonly upscaler?: HiresUpscaler;
  /** The second pass's denoising strength, (0, 1]. @default 0.5 */
  readonly strength?: number;
  /** The second pass's schedule length, 1–150 (A1111's "Hires steps"). @default the request's `steps` */
  readonly steps?: number;
  /** A1111's "Hires sampler" (A1111 sampling only): the second pass's sampler. @default the request's `sampler` */
  readonly sampler?: string;
  /** A1111's "Hires prompt" (A1111 sampling only). @default the request's `prompt` */
  readonly prompt?: string;
  /** A1111's "Hires negative prompt" (A1111 sampling only). @default the request's `negativePrompt` */
  readonly negativePrompt?: string;
  /** Forge's "Hires CFG Scale" (A1111 sampling only): the second pass's guidance scale, 0–50. @default the request's `cfg` */
  readonly cfg?: number;
  /**
   * A1111's "Hires schedule type" (A1111 sampling only): the second pass's schedule type (`Automatic` = the hires
   * sampler's default). @default the first pass's (A1111's "Use same scheduler"), or the hires sampler id's own
   * schedule when it names one (`dpmpp_2m_karras`)
   */
  readonly scheduleType?: string;
}

/** {@link HiresOptions} checked, with the target size. */
export interface ResolvedHires {
  readonly scale: number;
  readonly upscaler: HiresUpscaler;
  readonly strength: number;
  readonly steps: number;
  /** The pictures' final size: multiples of 8. */
  readonly width: number;
  readonly height: number;
  /**
   * A1111's `hr_upscale_to_x`/`_y`, `int(side · scale)`: what a pixel upscaler (Lanczos) resizes to before the VAE
   * encodes it (its latents are this / 8, floored: `width`/`height` / 8).
   */
  readonly upscaledWidth: number;
  readonly upscaledHeight: number;
  readonly sampler: SchedulerId;
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly cfg: number;
  readonly scheduleType: ScheduleType;
}

/** The task a request asks for. */
export type GenerationKind = 'txt2img' | 'img2img' | 'inpaint';

/** A request checked and completed with its defaults (see {@link GenerateRequest} for each field). */
export interface ResolvedRequest {
  readonly kind: GenerationKind;
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly promptSyntax: PromptSyntax;
  readonly seed: bigint;
  readonly seedMode: SeedMode;
  readonly rng: RngSource;
  readonly steps: number;
  readonly clipSkip: number;
  readonly cfg: number;
  readonly sampler: SchedulerId;
  readonly width: number;
  readonly height: number;
  readonly count: number;
  readonly initImage: RgbImage | undefined;
  readonly mask: Mask | undefined;
  /** 1 for txt2img. */
  readonly strength: number;
  readonly preview: boolean;
  readonly networks: readonly NetworkPatch[];
  readonly hires: ResolvedHires | undefined;
  /** A1111's inpainting settings, where A1111 sampling inpaints (kind `inpaint`, `compat` a1111); else undefined. */
  readonly inpaint: ResolvedInpaint | undefined;
  readonly compat: Compat;
  readonly scheduleType: ScheduleType;
  readonly emphasis: Emphasis;
  readonly ensd: number;
  /** 0 = no variation; then `variationSeed` is undefined. */
  readonly variationStrength: number;
  readonly variationSeed: bigint | undefined;
  /** 1 but for A1111's img2img and inpainting. */
  readonly noiseMultiplier: number;
  /** 0 but where A1111 sampling runs img2img, inpainting or a hires fix. */
  readonly extraNoise: number;
}

/**
 * The ranges of a valid request: the one definition. Callers that take requests from people (the bot's options,
 * its configuration and per-server settings) take their bounds from here rather than repeating them.
 */
export const REQUEST_LIMITS = Object.freeze({
  steps: { min: 1, max: 150 },
  cfg: { min: 0, max: 50 },
  size: { min: 64, max: 4096, multiple: 8 },
  count: { min: 1, max: 16 },
  strength: { min: 0, max: 1 },
  clipSkip: { min: 1, max: 12 },
  hiresScale: { min: 1, max: 4 },
  ensd: { min: 0, max: 2 ** 32 - 1 },
  maskBlur: { min: 0, max: 64 },
  maskedPadding: { min: 0, max: 256 },
  // A1111's sliders: "Noise multiplier for img2img" and "Extra noise multiplier for img2img and hires fix".
  noiseMultiplier: { min: 0, max: 1.5 },
  extraNoise: { min: 0, max: 1 },
});

const DEFAULT_SIZE = 512;

/** A request without its pictures: everything a caller can check before it has them (a bot before queuing). */
export type GenerationParameters = Omit<GenerateRequest, 'initImage' | 'mask'>;

/** {@link ResolvedRequest} without its pictures. */
export type ResolvedParameters = Omit<ResolvedRequest, 'initImage' | 'mask'>;

/**
 * Checks every field of `request` and fills in the defaults.
 * @throws PipelineError `INVALID_REQUEST` naming the first bad field, e.g.
 *   "Expected `steps` to be an integer 1–150, got 0 (number)".
 */
export function resolveRequest(request: GenerateRequest): ResolvedRequest {
  const { initImage, mask } = request;
  if (mask && !initImage) fail('mask', 'A `mask` needs an `initImage` to repaint');
  const kind: GenerationKind = initImage ? (mask ? 'inpaint' : 'img2img') : 'txt2img';
  return { ...resolveParameters(request, kind, initImage), initImage, mask };
}

/**
 * Checks the fields of a request of `kind` other than its pictures and fills in the defaults, exactly as
 * {@link resolveRequest} does once the pictures are there (`initSize`: the init image's size, for the default size).
 * @throws PipelineError `INVALID_REQUEST` naming the first bad field.
 */
export function resolveParameters(
  request: GenerationParameters,
  kind: GenerationKind,
  initSize?: { readonly width: number; readonly height: number },
): ResolvedParameters {
  if (typeof request.prompt !== 'string') {
    fail('prompt', `Expected \`prompt\` to be a string, got ${describe(request.prompt)}`);
  }
  const negativePrompt = request.negativePrompt ?? '';
  if (typeof negativePrompt !== 'string') {
    fail('negativePrompt', `Expected \`negativePrompt\` to be a string, got ${describe(negativePrompt)}`);
  }
  const rng = choice('rng', request.rng ?? 'gpu', ['cpu', 'gpu'] as const);
  const steps = integer('steps', request.steps ?? 25, REQUEST_LIMITS.steps);
  const count = integer('count', request.count ?? 1, REQUEST_LIMITS.count);
  const seed = resolveSeed(request.seed, count);
  const resolvedSampler = sampler(request.sampler ?? 'dpmpp_2m_karras');
  const compat = choice('compat', request.compat ?? 'diffusers', ['diffusers', 'a1111'] as const);
  const defaultStrength = kind === 'inpaint' ? 1 : 0.75;
  // A1111's t_enc rule where A1111 sampling runs the request; diffusers' elsewhere (samplers without a port).
  const a1111Sampling = compat === 'a1111' && a1111SamplerFor(resolvedSampler) !== undefined;
  if (!isDiffusersSampler(resolvedSampler) && compat !== 'a1111') {
    fail('sampler', `${samplerLabel(resolvedSampler).name} is A1111's own sampler: it runs with \`compat\` a1111`);
  }
  const stepRule = a1111Sampling ? 'a1111' : 'diffusers';
  const strength = kind === 'txt2img' ? 1 : resolveStrength(request.strength ?? defaultStrength, steps, stepRule);
  if (a1111Sampling && resolvedSampler === 'unipc') checkUniPCSteps(walkedTimesteps({ kind, steps, strength }).timesteps.length);
  const seedMode = choice('seedMode', request.seedMode ?? defaultSeedMode(rng, compat), ['batch', 'per-image'] as const);
  if (compat === 'a1111' && seedMode !== 'per-image') fail('seedMode', 'A1111 draws noise per image: `seedMode` must be per-image');
  const width = size('width', request.width ?? defaultSide(initSize?.width));
  const height = size('height', request.height ?? defaultSide(initSize?.height));
  // Checked in this order, so the first bad field is named; the first pass's prompts and CFG are its hires pass's defaults.
  const promptSyntax = choice('promptSyntax', request.promptSyntax ?? 'a1111', ['plain', 'a1111'] as const);
  const clipSkip = integer('clipSkip', request.clipSkip ?? 1, REQUEST_LIMITS.clipSkip);
  const cfg = number('cfg', request.cfg ?? 7, REQUEST_LIMITS.cfg);
  const firstScheduleType = scheduleType('scheduleType', request.scheduleType ?? 'Automatic', compat, resolvedSampler);
  const first: FirstPassFacts = {
    prompt: request.prompt,
    negativePrompt,
    cfg,
    width,
    height,
    steps,
    sampler: resolvedSampler,
    scheduleType: firstScheduleType,
    compat,
    a1111Sampling,
  };
  return {
    kind,
    prompt: request.prompt,
    negativePrompt,
    promptSyntax,
    seed,
    seedMode,
    rng,
    steps,
    clipSkip,
    cfg,
    sampler: resolvedSampler,
    width,
    height,
    count,
    strength,
    preview: request.preview ?? false,
    networks: request.networks ?? [],
    hires: request.hires === undefined ? undefined : resolveHires(request.hires, kind, first),
    inpaint: resolveInpaint(request.inpaint, kind, a1111Sampling),
    compat,
    scheduleType: firstScheduleType,
    emphasis: choice('emphasis', request.emphasis ?? 'Original', EMPHASIS_MODES),
    ensd: integer('ensd', request.ensd ?? 0, REQUEST_LIMITS.ensd),
    ...variation(request, a1111Sampling, count),
    ...img2imgNoise(request, kind, a1111Sampling),
  };
}

/**
 * Where A1111 reads its img2img noise settings: the noise multiplier in img2img and inpainting (its txt2img and
 * hires pass never read it), the extra noise there and in a hires fix's second pass.
 */
export function img2imgNoiseActs(kind: GenerationKind, hires: boolean): { readonly noiseMultiplier: boolean; readonly extraNoise: boolean } {
  const initImage = kind !== 'txt2img';
  return { noiseMultiplier: initImage, extraNoise: initImage || hires };
}

/** A1111's img2img noise settings, refused rather than ignored where they would do nothing ({@link img2imgNoiseActs}). */
function img2imgNoise(request: GenerationParameters, kind: GenerationKind, a1111Sampling: boolean): Pick<ResolvedParameters, 'noiseMultiplier' | 'extraNoise'> {
  const noiseMultiplier = number('noiseMultiplier', request.noiseMultiplier ?? 1, REQUEST_LIMITS.noiseMultiplier);
  const extraNoise = number('extraNoise', request.extraNoise ?? 0, REQUEST_LIMITS.extraNoise);
  const acts = img2imgNoiseActs(kind, request.hires !== undefined);
  const a1111 = '`compat` a1111 and a sampler A1111 runs';
  if (noiseMultiplier !== 1 && (!acts.noiseMultiplier || !a1111Sampling)) {
    fail('noiseMultiplier', `\`noiseMultiplier\` is A1111's img2img setting: it needs an init image, ${a1111}`);
  }
  if (extraNoise !== 0 && (!acts.extraNoise || !a1111Sampling)) {
    fail('extraNoise', `\`extraNoise\` is A1111's for img2img, inpainting and the hires fix: it needs an init image or \`hires\`, ${a1111}`);
  }
  return { noiseMultiplier, extraNoise };
}

/** A1111 stops UniPC with fewer steps to walk than its order ("UniPC order must be < sampling steps"). */
function checkUniPCSteps(walked: number): void {
  if (walked < UNIPC_ORDER) fail('steps', `A1111's UniPC needs at least ${UNIPC_ORDER} steps to walk (its order), got ${walked}`);
}

/** A1111's variation seed and strength: only where A1111 sampling runs; a strength without a seed draws one. */
function variation(request: GenerationParameters, a1111Sampling: boolean, count: number) {
  const strength = number('variationStrength', request.variationStrength ?? 0, REQUEST_LIMITS.strength);
  if (strength === 0) return { variationStrength: 0, variationSeed: undefined };
  if (!a1111Sampling) {
    fail('variationStrength', 'Variation seeds are A1111\'s: they need `compat` a1111 and a sampler it runs itself');
  }
  const seed = request.variationSeed === undefined ? randomSeed() : seedField('variationSeed', request.variationSeed, count);
  return { variationStrength: strength, variationSeed: seed };
}

/** A1111's default `Mask blur`, pixels (its `mask_blur`). */
export const DEFAULT_MASK_BLUR = 4;

/** A1111's inpainting settings where A1111 sampling inpaints; refused elsewhere rather than ignored. */
function resolveInpaint(inpaint: InpaintOptions | undefined, kind: GenerationKind, a1111Sampling: boolean): ResolvedInpaint | undefined {
  if (kind !== 'inpaint' || !a1111Sampling) {
    if (inpaint !== undefined) fail('inpaint', `\`inpaint\` settings are A1111's: they need a mask, \`compat\` a1111 and a sampler A1111 runs`);
    return undefined;
  }
  const maskedContent = inpaint?.maskedContent ?? 'original';
  return {
    maskBlur: integer('inpaint.maskBlur', inpaint?.maskBlur ?? DEFAULT_MASK_BLUR, REQUEST_LIMITS.maskBlur),
    maskedContent: choice('inpaint.maskedContent', maskedContent, MASKED_CONTENTS),
    invertMask: inpaint?.invertMask ?? false,
    maskWeight: number('inpaint.maskWeight', inpaint?.maskWeight ?? 1, REQUEST_LIMITS.strength),
    onlyMasked: inpaint?.onlyMasked ?? false,
    maskedPadding: integer('inpaint.maskedPadding', inpaint?.maskedPadding ?? 32, REQUEST_LIMITS.maskedPadding),
  };
}

/**
 * The sides of a hires pass's target: A1111's `int(side · scale)`, then down to a multiple of 8 (the latents are
 * an eighth of it, floored).
 */
export function hiresSize(width: number, height: number, scale: number): { width: number; height: number } {
  const { multiple } = REQUEST_LIMITS.size;
  const { width: upscaledWidth, height: upscaledHeight } = upscaledSize(width, height, scale);
  return { width: upscaledWidth - (upscaledWidth % multiple), height: upscaledHeight - (upscaledHeight % multiple) };
}

/** A1111's `hr_upscale_to_x`/`_y`: `int(side · scale)` (a hair above, so that 0.1 steps of scale land on whole pixels). */
function upscaledSize(width: number, height: number, scale: number): { width: number; height: number } {
  return { width: Math.floor(width * scale + 1e-9), height: Math.floor(height * scale + 1e-9) };
}

/** What a hires fix takes from its first pass, as resolved. */
interface FirstPassFacts {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly cfg: number;
  readonly width: number;
  readonly height: number;
  readonly steps: number;
  readonly sampler: SchedulerId;
  readonly scheduleType: ScheduleType;
  readonly compat: Compat;
  readonly a1111Sampling: boolean;
}

function resolveHires(hires: HiresOptions, kind: GenerationKind, first: FirstPassFacts): ResolvedHires {
  if (kind !== 'txt2img') fail('hires', `The hires fix is for txt2img only, got a ${kind} request`);
  const scale = number('hires.scale', hires.scale, REQUEST_LIMITS.hiresScale);
  const hiresSteps = integer('hires.steps', hires.steps ?? first.steps, REQUEST_LIMITS.steps);
  const strength = number('hires.strength', hires.strength ?? 0.5, REQUEST_LIMITS.strength);
  // A1111 walks exactly the hires steps of a ⌊steps / strength⌋ schedule.
  requireAStep(first.a1111Sampling ? 'a1111' : 'diffusers', strength, hiresSteps, { strength: 'hires.strength', steps: 'hires.steps' });
  const target = hiresSize(first.width, first.height, scale);
  size('hires width', target.width);
  size('hires height', target.height);
  const upscaled = upscaledSize(first.width, first.height, scale);
  return {
    scale,
    upscaler: choice('hires.upscaler', hires.upscaler ?? 'latent', HIRES_UPSCALERS),
    strength,
    steps: hiresSteps,
    ...target,
    upscaledWidth: upscaled.width,
    upscaledHeight: upscaled.height,
    ...secondPassSettings(hires, first),
  };
}

/**
 * A1111's hires sampler, schedule type, prompt, negative prompt and Forge's hires CFG: only where A1111 sampling
 * runs. Each not given is the first pass's.
 */
function secondPassSettings(
  hires: HiresOptions,
  first: FirstPassFacts,
): Pick<ResolvedHires, 'sampler' | 'prompt' | 'negativePrompt' | 'cfg' | 'scheduleType'> {
  for (const key of ['prompt', 'negativePrompt', 'scheduleType'] as const) {
    if (hires[key] !== undefined && typeof hires[key] !== 'string') fail(`hires.${key}`, `Expected \`hires.${key}\` to be a string, got ${describe(hires[key])}`);
  }
  const own = (['sampler', 'prompt', 'negativePrompt', 'cfg', 'scheduleType'] as const).filter((key) => hires[key] !== undefined);
  if (own.length > 0 && !first.a1111Sampling) {
    fail(`hires.${own[0] ?? ''}`, `A hires pass's own ${own.join(', ')} need \`compat\` a1111 and a sampler A1111 runs`);
  }
  const hiresSampler = hires.sampler === undefined ? first.sampler : sampler(hires.sampler);
  if (!a1111SamplerFor(hiresSampler) && hiresSampler !== first.sampler) {
    fail('hires.sampler', `${samplerLabel(hiresSampler).name} has no A1111 port: a hires pass in A1111 mode runs one of A1111's samplers`);
  }
  return {
    sampler: hiresSampler,
    prompt: hires.prompt ?? first.prompt,
    negativePrompt: hires.negativePrompt ?? first.negativePrompt,
    cfg: number('hires.cfg', hires.cfg ?? first.cfg, REQUEST_LIMITS.cfg),
    scheduleType: scheduleType('hires.scheduleType', hires.scheduleType ?? inheritedHiresSchedule(hiresSampler, first), first.compat, hiresSampler),
  };
}

/**
 * The schedule type an A1111 hires pass without its own inherits (A1111's "Use same scheduler": `hr_scheduler =
 * scheduler`): the first pass's, by its id's name where the id names one (A1111 reads "DPM++ 2M Karras" as DPM++ 2M
 * with Karras); a hires sampler id that names its own schedule keeps it (`Automatic`).
 */
export function inheritedHiresSchedule(
  hiresSampler: SchedulerId,
  first: Pick<FirstPassFacts, 'sampler' | 'scheduleType' | 'a1111Sampling'>,
): ScheduleType {
  if (samplerLabel(hiresSampler).schedule !== null || !first.a1111Sampling) return 'Automatic';
  const named = samplerLabel(first.sampler).schedule;
  return named === null ? first.scheduleType : parseScheduleType(named);
}

/**
 * A schedule type is A1111's: diffusers mode takes only `Automatic` (the sampler id says the schedule), and a
 * sampler id that names a schedule (`dpmpp_2m_karras`) takes no other.
 */
function scheduleType(field: string, name: string, compat: Compat, id: SchedulerId): ScheduleType {
  let type: ScheduleType;
  try {
    type = parseScheduleType(name);
  } catch (error) {
    return fail(field, error instanceof Error ? error.message : String(error));
  }
  if (compat !== 'a1111' && type !== 'Automatic') {
    fail(field, `\`${field}\` ${type} needs \`compat\` a1111 (diffusers mode takes the schedule from the sampler id)`);
  }
  const named = samplerLabel(id).schedule;
  if (named !== null && type !== 'Automatic' && type !== named) {
    fail(field, `Sampler ${samplerLabel(id).name} is the ${named} schedule; it cannot take \`${field}\` ${type}`);
  }
  return type;
}

/** One generator for the batch reproduces diffusers (rng `cpu`); seed + i per image reproduces A1111 (`gpu`, `a1111`). */
function defaultSeedMode(rng: RngSource, compat: Compat): SeedMode {
  return rng === 'cpu' && compat === 'diffusers' ? 'batch' : 'per-image';
}

/** diffusers' default for an init image: its side rounded down to a multiple of 8. */
function defaultSide(imageSide: number | undefined): number {
  if (imageSide === undefined) return DEFAULT_SIZE;
  return imageSide - (imageSide % REQUEST_LIMITS.size.multiple);
}

function resolveSeed(seed: number | bigint | undefined, count: number): bigint {
  if (seed === undefined) return randomSeed();
  return seedField('seed', seed, count);
}

/** A seed field with room for `count` pictures (`seed + count − 1` at most 2^64 − 1). */
function seedField(field: string, seed: number | bigint, count: number): bigint {
  const value = typeof seed === 'bigint' ? seed : Number.isInteger(seed) ? BigInt(seed) : undefined;
  const last = MAX_SEED - BigInt(count - 1);
  if (value === undefined || value < 0n || value > last) {
    const room = count > 1 ? ` (room for ${count} images)` : '';
    fail(field, `Expected \`${field}\` to be an integer 0–${last}${room}, got ${describe(seed)}`);
  }
  return value;
}

function resolveStrength(strength: number, steps: number, compat: Compat): number {
  const value = number('strength', strength, REQUEST_LIMITS.strength);
  requireAStep(compat, value, steps, { strength: 'strength', steps: 'steps' });
  return value;
}

/**
 * Refuses a strength under which no step would run, by the rule that runs the request: A1111 runs t_enc + 1 steps,
 * at least one for any strength above 0; diffusers' get_timesteps runs int(steps · strength), and none at all is an
 * error there too.
 */
function requireAStep(rule: Compat, strength: number, steps: number, fields: { readonly strength: string; readonly steps: string }): void {
  if (rule === 'a1111' ? strength > 0 : Math.floor(steps * strength) >= 1) return;
  const expected =
    rule === 'a1111' ? `\`${fields.strength}\` above 0` : `\`${fields.strength}\` × \`${fields.steps}\` to be at least 1, got ${strength} × ${steps}`;
  fail(fields.strength, `Expected ${expected}: no step would run`);
}

function sampler(name: string): SchedulerId {
  try {
    return parseSamplerName(name);
  } catch (error) {
    return fail('sampler', error instanceof Error ? error.message : String(error));
  }
}

function size(field: string, value: number): number {
  const { min, max, multiple } = REQUEST_LIMITS.size;
  if (!Number.isInteger(value) || value < min || value > max || value % multiple !== 0) {
    fail(field, `Expected \`${field}\` to be a multiple of ${multiple} from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

function integer(field: string, value: number, { min, max }: { min: number; max: number }): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(field, `Expected \`${field}\` to be an integer ${min}–${max}, got ${describe(value)}`);
  }
  return value;
}

function number(field: string, value: number, { min, max }: { min: number; max: number }): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail(field, `Expected \`${field}\` to be a number ${min}–${max}, got ${describe(value)}`);
  }
  return value;
}

function choice<const C extends readonly string[]>(field: string, value: string, allowed: C): C[number] {
  if (!allowed.includes(value)) {
    fail(field, `Expected \`${field}\` to be one of ${allowed.join(', ')}, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  return `${typeof value === 'string' ? JSON.stringify(value) : String(value)} (${typeof value})`;
}

function fail(field: string, message: string): never {
  throw new PipelineError('INVALID_REQUEST', message, { field });
}
