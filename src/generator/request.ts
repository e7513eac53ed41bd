import { z } from 'zod';
import {
  a1111SamplerOf,
  countModelCalls,
  EMPHASIS_MODES,
  extractLoraTags,
  HIRES_UPSCALERS,
  MASK_REGIONS,
  MASKED_CONTENTS,
  REQUEST_LIMITS,
  SCHEDULE_TYPES,
  SCHEDULER_IDS,
  type GenerationParameters,
  type MaskRegion,
  type SchedulerConfig,
} from '../pipeline/index.js';

/**
 * A generation request as the bot keeps it: plain JSON, everything needed to run (and rerun) the job. Only requests
 * that the pipeline's `resolveParameters` accepted are kept (the job builder resolves each once, before queuing).
 * Seeds are decimal strings because they go up to 2^64 − 1; image `i` of a request uses `seed + i`.
 */
export const generationRequestSchema = z.object({
  kind: z.enum(['txt2img', 'img2img', 'inpaint']),
  /** The served model it runs on, by name; absent in records made before models could be picked (the default). */
  model: z.string().min(1).max(200).optional(),
  prompt: z.string(),
  negative: z.string(),
  seed: z.string().regex(/^\d{1,20}$/),
  steps: z.number().int().min(1),
  cfg: z.number().min(0),
  sampler: z.enum(SCHEDULER_IDS),
  width: z.number().int().min(8).multipleOf(8),
  height: z.number().int().min(8).multipleOf(8),
  count: z.number().int().min(REQUEST_LIMITS.count.min).max(REQUEST_LIMITS.count.max),
  rng: z.enum(['gpu', 'cpu']),
  /** A1111's clip skip (1 = the text encoder's last layer); absent in records made before it existed. */
  clipSkip: z.number().int().min(REQUEST_LIMITS.clipSkip.min).max(REQUEST_LIMITS.clipSkip.max).optional(),
  promptSyntax: z.enum(['a1111', 'plain']),
  /** Whose sampling runs it; absent in records made before A1111 mode existed, which ran diffusers'. */
  compat: z.enum(['a1111', 'diffusers']).optional(),
  /** A1111's Schedule type (A1111 mode), from a pasted parameters block; absent = Automatic. */
  scheduleType: z.enum(SCHEDULE_TYPES).optional(),
  /** A1111's emphasis mode; absent = Original. */
  emphasis: z.enum(EMPHASIS_MODES).optional(),
  /** A1111's eta noise seed delta, from a pasted parameters block; absent = 0. */
  ensd: z.number().int().min(REQUEST_LIMITS.ensd.min).max(REQUEST_LIMITS.ensd.max).optional(),
  /**
   * A1111's variation seed (picture i takes `variationSeed + i`) and its strength, from a pasted parameters block;
   * both absent = none.
   */
  variationSeed: z.string().regex(/^\d{1,20}$/).optional(),
  variationStrength: z.number().min(0).max(1).optional(),
  /** A1111's img2img `Noise multiplier` (inpaint, A1111 mode), from a pasted parameters block; absent = 1. */
  noiseMultiplier: z.number().min(REQUEST_LIMITS.noiseMultiplier.min).max(REQUEST_LIMITS.noiseMultiplier.max).optional(),
  /** A1111's `Extra noise` (inpaint, or txt2img's hires pass, A1111 mode), from a pasted parameters block; absent = 0. */
  extraNoise: z.number().min(REQUEST_LIMITS.extraNoise.min).max(REQUEST_LIMITS.extraNoise.max).optional(),
  /** txt2img: A1111's hires fix, a second pass at `scale` times the size (see the pipeline's `HiresOptions`). */
  hires: z
    .object({
      scale: z.number().min(REQUEST_LIMITS.hiresScale.min).max(REQUEST_LIMITS.hiresScale.max),
      upscaler: z.enum(HIRES_UPSCALERS),
      strength: z.number().min(0).max(1),
      steps: z.number().int().min(1),
      /**
       * A pasted block's `Hires sampler`, `Hires schedule type`, `Hires prompt`, `Hires negative prompt` and Forge's
       * `Hires CFG Scale`.
       */
      sampler: z.enum(SCHEDULER_IDS).optional(),
      scheduleType: z.enum(SCHEDULE_TYPES).optional(),
      prompt: z.string().optional(),
      negativePrompt: z.string().optional(),
      cfg: z.number().min(REQUEST_LIMITS.cfg.min).max(REQUEST_LIMITS.cfg.max).optional(),
    })
    .optional(),
  /**
   * How the job's progress shows previews of its pictures as they form, as the server's `previews` and content
   * policy allowed when it was queued: `plain`, as `spoiler`s (the filter has not seen them), or (absent) not at all.
   */
  previews: z.enum(['plain', 'spoiler']).optional(),
  /** img2img / inpaint: how much of the source is repainted (0–1). */
  strength: z.number().min(0).max(1).optional(),
  /** img2img / inpaint: where the source image is kept (see the jobs' input store) and where it came from. */
  source: z
    .object({
      /** Key of the stored input image. */
      inputKey: z.string(),
      /** The earlier job whose result this starts from, when there is one. */
      jobId: z.string().optional(),
      /** Which image of that job (0-based). */
      index: z.number().int().min(0).max(3).optional(),
      /** Original size of the upload (or of the earlier result), to scale the result back to its aspect ratio. */
      width: z.number().int().min(1),
      height: z.number().int().min(1),
    })
    .optional(),
  /** inpaint: the stored mask and how the member gave it. */
  mask: z
    .object({
      inputKey: z.string(),
      source: z.enum(['mask', 'transparency', 'region', 'zoom-out', 'pan']),
      region: z.enum(MASK_REGIONS).optional(),
      /** Zoom out's factor ("1.5×") or pan's direction ("left"): the canvas the picture was put on. */
      outpaint: z.string().optional(),
      /** Pixels of feathering at the mask's edge where the result is pasted into the original. */
      blur: z.number().int().min(0).max(64),
    })
    .optional(),
  /**
   * inpaint: A1111's inpainting settings besides the blur, from a pasted parameters block (`Masked content`, `Mask
   * mode`, `Conditional mask weight`, `Inpaint area`, `Masked area padding`); absent = A1111's defaults.
   */
  inpaint: z
    .object({
      maskedContent: z.enum(MASKED_CONTENTS).optional(),
      invertMask: z.boolean().optional(),
      maskWeight: z.number().min(0).max(1).optional(),
      /** "Inpaint area: Only masked" and its padding. */
      onlyMasked: z.boolean().optional(),
      maskedPadding: z.number().int().min(REQUEST_LIMITS.maskedPadding.min).max(REQUEST_LIMITS.maskedPadding.max).optional(),
    })
    .optional(),
});

export type GenerationRequest = z.infer<typeof generationRequestSchema>;
export type RequestMask = NonNullable<GenerationRequest['mask']>;

/** The `region` choices as members read them. */
export const REGION_LABELS: Readonly<Record<MaskRegion, string>> = {
  left: 'left half',
  right: 'right half',
  top: 'top half',
  bottom: 'bottom half',
  center: 'center',
  border: 'background border',
};

/** The earlier job a variation started from, for the embed and the PNG's parameters: "<id>", "<id> (image 2)". */
export function sourceJobLabel(source: GenerationRequest['source']): string | undefined {
  if (source?.jobId === undefined) return undefined;
  return source.index ? `${source.jobId} (image ${source.index + 1})` : source.jobId;
}

/** How the member gave the area to repaint, for the embed and the PNG's parameters: "mask file", "region: center". */
export function maskSourceLabel(mask: RequestMask): string {
  switch (mask.source) {
    case 'mask':
      return 'mask file';
    case 'transparency':
      return 'transparency';
    case 'region':
      return mask.region ? `region: ${REGION_LABELS[mask.region]}` : 'region';
    case 'zoom-out':
      return `zoom out ${mask.outpaint ?? ''}`.trim();
    case 'pan':
      return `pan ${mask.outpaint ?? ''}`.trim();
  }
}

/** The pipeline's parameters for `request`: A1111's seeds, image `i` with its own generator seeded `seed + i`. */
export function generationParameters(request: GenerationRequest): GenerationParameters {
  return {
    prompt: request.prompt,
    negativePrompt: request.negative,
    promptSyntax: request.promptSyntax,
    seed: BigInt(request.seed),
    // A1111's convention: image i has its own generator seeded with seed + i, so each can be re-made alone.
    seedMode: 'per-image',
    rng: request.rng,
    steps: request.steps,
    ...(request.clipSkip === undefined ? {} : { clipSkip: request.clipSkip }),
    cfg: request.cfg,
    sampler: request.sampler,
    width: request.width,
    height: request.height,
    count: request.count,
    ...(request.kind === 'txt2img' ? {} : { strength: request.strength }),
    ...(request.compat === undefined ? {} : { compat: request.compat }),
    ...(request.scheduleType === undefined ? {} : { scheduleType: request.scheduleType }),
    ...(request.emphasis === undefined ? {} : { emphasis: request.emphasis }),
    ...(request.ensd === undefined ? {} : { ensd: request.ensd }),
    ...(request.variationStrength ? { variationSeed: BigInt(request.variationSeed ?? '0'), variationStrength: request.variationStrength } : {}),
    ...(request.noiseMultiplier === undefined ? {} : { noiseMultiplier: request.noiseMultiplier }),
    ...(request.extraNoise === undefined ? {} : { extraNoise: request.extraNoise }),
    ...(request.hires ? { hires: request.hires } : {}),
    // Where A1111's inpainting runs (A1111 mode, a sampler it has), it blurs the mask itself, by the member's blur.
    ...(request.mask && a1111SamplerOf(request) ? { inpaint: { maskBlur: request.mask.blur, ...request.inpaint } } : {}),
  };
}

/** The UNet evaluations `request` makes on a model with `schedulerConfig`: the unit of its progress and its ETA. */
export function modelCallsOf(request: GenerationRequest, schedulerConfig: SchedulerConfig): number {
  return countModelCalls({ ...request, strength: request.strength ?? 1 }, schedulerConfig);
}

/**
 * What requests must share to run as one batch (`ImageGenerator.generateBatch`): the model, and everything that
 * shapes the denoising loop and its UNet runs — kind, size, steps, sampler, schedule type, CFG, strength, clip skip, sampling
 * mode, prompt syntax, emphasis, A1111's img2img noise settings, hires fix — and the LoRA set (the prompt's `<lora:…>` tags). Each request has its
 * own prompt, negative prompt, seed, count, noise source, previews and source pictures. Prompts of different
 * 75-token chunk counts share the key but not the UNet runs (the batch runs them in turn, still correct).
 */
export function batchKeyOf(request: GenerationRequest): string {
  const loras = extractLoraTags(request.prompt)
    .tags.map(({ name, te, unet }) => `${name}:${te}:${unet}`)
    .sort();
  const { model, kind, width, height, steps, sampler, scheduleType, cfg, strength, clipSkip, compat, promptSyntax, emphasis, hires } = request;
  const { noiseMultiplier, extraNoise } = request;
  return JSON.stringify([model, kind, width, height, steps, sampler, scheduleType, cfg, strength, clipSkip, compat, promptSyntax, emphasis, noiseMultiplier, extraNoise, hires, loras]);
}

/** The UNet batch rows a request takes: one per picture, two with classifier-free guidance (CFG above 1). */
export function unetRowsOf(request: Pick<GenerationRequest, 'count' | 'cfg'>): number {
  return request.count * (request.cfg > 1 ? 2 : 1);
}
