import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EMPHASIS_MODES, HIRES_UPSCALERS, isPipelineError, parseSamplerName, REQUEST_LIMITS, resolveParameters, type GenerationKind } from '../pipeline/index.js';
import { ConfigError } from './errors.js';

export const ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '9:16', '16:9', '9:21', '21:9'] as const;

/**
 * Images one job may make: a result message carries a grid plus one file per image, and four keep it readable
 * (the pipeline itself takes more, `REQUEST_LIMITS.count`).
 */
export const MAX_IMAGES_PER_JOB = Math.min(4, REQUEST_LIMITS.count.max);

const { steps: STEPS, cfg: CFG, strength: STRENGTH, clipSkip: CLIP_SKIP } = REQUEST_LIMITS;

/** A sampler name (id or A1111 name), resolved to its id at load: a typo stops the start instead of every job. */
const samplerName = z.string().transform((name, context) => {
  try {
    return parseSamplerName(name);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** What a model family's defaults change of the generation defaults (SDXL is usually drawn with fewer CFG). */
const familyDefaults = z.strictObject({
  steps: z.number().int().min(STEPS.min).max(STEPS.max).optional(),
  cfg: z.number().min(CFG.min).max(CFG.max).optional(),
  sampler: samplerName.optional(),
});

const generation = z.strictObject({
  /** Denoising steps when a member gives none. */
  steps: z.number().int().min(STEPS.min).max(STEPS.max),
  /** Classifier-free guidance scale. */
  cfg: z.number().min(CFG.min).max(CFG.max),
  /** Sampler id or A1111 name, kept as its id. */
  sampler: samplerName,
  aspect: z.enum(ASPECT_RATIOS),
  /** Prepended to every member's negative prompt. */
  negativePrompt: z.string(),
  rng: z.enum(['gpu', 'cpu']),
  /** A1111's clip skip: 1 = the text encoder's last layer, 2 = the one before (anime models). */
  clipSkip: z.number().int().min(CLIP_SKIP.min).max(CLIP_SKIP.max),
  promptSyntax: z.enum(['a1111', 'plain']),
  /** Whose sampling the bot reproduces: `a1111` (the same picture as AUTOMATIC1111 for the same parameters) or `diffusers`. */
  compat: z.enum(['a1111', 'diffusers']),
  /** A1111's emphasis mode for `(word:1.2)` weights. */
  emphasis: z.enum(EMPHASIS_MODES),
  /** img2img strength for /variation. */
  strength: z.number().min(STRENGTH.min).max(STRENGTH.max),
  /** The same for /inpaint. */
  inpaintStrength: z.number().min(STRENGTH.min).max(STRENGTH.max),
  /** Pixels of feathering at the edge of an inpainting mask. */
  maskBlur: z.number().int().min(0).max(64),
  /** How `/imagine upscale` and ⬆️ Upscale enlarge the first pass: A1111's "Latent", "Latent (nearest)" or "Lanczos". */
  hiresUpscaler: z.enum(HIRES_UPSCALERS),
  /** The denoising strength of their second pass. */
  hiresStrength: z.number().min(STRENGTH.min).max(STRENGTH.max),
  /** The strength of the Vary (subtle) and Vary (strong) buttons. */
  varySubtle: z.number().min(STRENGTH.min).max(STRENGTH.max),
  varyStrong: z.number().min(STRENGTH.min).max(STRENGTH.max),
  /** Per model family (`/config`'s `sd1.steps`, `sdxl.cfg`, … start from these), what differs from the above. */
  families: z.strictObject({ $comment: z.string().optional(), sd1: familyDefaults, sdxl: familyDefaults }),
});

const limits = z.strictObject({
  maxSteps: z.number().int().min(STEPS.min).max(STEPS.max),
  /** Largest width × height a member may ask for. */
  maxPixels: z.number().int().min(64 * 64),
  maxCount: z.number().int().min(1).max(MAX_IMAGES_PER_JOB),
  maxQueuedPerMember: z.number().int().min(1).max(100),
  cooldownSeconds: z.number().min(0).max(3600),
  minStrength: z.number().min(STRENGTH.min).max(STRENGTH.max),
  maxStrength: z.number().min(STRENGTH.min).max(STRENGTH.max),
  /** A request over a limit is refused, or clamped to the limit (the member is told either way). */
  overLimit: z.enum(['refuse', 'clamp']),
});

const queue = z.strictObject({
  /** Waiting jobs across all servers before new ones are refused. */
  maxQueued: z.number().int().min(1),
  /** A job running longer than this fails with a clear reason. */
  jobTimeoutSeconds: z.number().min(1),
});

const attachments = z.strictObject({
  maxDownloadBytes: z.number().int().min(1024),
  /** Width × height above which an upload is refused before decoding (decompression bombs). */
  maxInputPixels: z.number().int().min(64 * 64),
  downloadTimeoutSeconds: z.number().min(1).max(120),
});

const discord = z.strictObject({
  progressEditIntervalSeconds: z.number().min(1),
  rerollReactions: z.boolean(),
  /** Whether a running job's message shows a small preview of the picture as it forms. */
  previews: z.boolean(),
  /** Channel ids where the bot takes commands; empty = everywhere. */
  allowedChannels: z.array(z.string()),
  /** LoRA names members may call; empty = every LoRA in `LORA_DIR`. */
  allowedLoras: z.array(z.string()),
  blockedWords: z.array(z.string()),
  deleteResults: z.enum(['requester-and-moderators', 'moderators']),
});

/** The content policy (issue 20): what happens to a result the classifier flags. README, "Content policy". */
const contentPolicy = z.strictObject({
  /** In age-restricted channels: a flagged result is blocked, posted as a spoiler, or posted as it is. */
  nsfw: z.enum(['block', 'spoiler', 'allow']),
  /** Everywhere else (Discord wants explicit pictures only in age-restricted channels): blocked or spoilered. */
  nsfwOutside: z.enum(['block', 'spoiler']),
  /** A picture is flagged when its score (porn + hentai, 0–1) is over this: 0 flags everything, 1 nothing. */
  nsfwThreshold: z.number().min(0).max(1),
  /** Prompts with a word of `config/explicit-terms.txt` outside age-restricted channels: refused or allowed. */
  explicitTerms: z.enum(['refuse', 'allow']),
});

const defaultsSchema = z.strictObject({
  $comment: z.string().optional(),
  generation,
  limits,
  queue,
  attachments,
  discord,
  contentPolicy,
});

export type ProductDefaults = Readonly<z.output<typeof defaultsSchema>>;

/** Reads and validates `config/default.json` (or `path`); throws a `ConfigError` naming the bad key. */
export function readDefaults(path: string): ProductDefaults {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path} cannot be read as JSON: ${(error as Error).message}`);
  }
  const parsed = defaultsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${path}: \`${issue?.path.join('.') ?? ''}\` ${issue?.message ?? 'is invalid'}`);
  }
  resolveGeneration(path, parsed.data.generation);
  return deepFreeze(parsed.data);
}

/**
 * Resolves the generation defaults as the pipeline will, for each kind of job: a default it would refuse (a
 * strength that leaves no step at the default steps) stops the start, rather than every /variation or /inpaint.
 */
function resolveGeneration(path: string, generation: ProductDefaults['generation']): void {
  const strengths: ReadonlyArray<[GenerationKind, 'strength' | 'inpaintStrength']> = [['img2img', 'strength'], ['inpaint', 'inpaintStrength']];
  for (const [kind, key] of strengths) {
    try {
      resolveParameters({ ...generation, prompt: '', strength: generation[key] }, kind);
    } catch (error) {
      if (!isPipelineError(error, 'INVALID_REQUEST')) throw error;
      const field = error.details.field === 'strength' ? key : error.details.field;
      throw new ConfigError(`${path}: \`generation.${field ?? ''}\` ${error.message}`);
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
