import { z } from 'zod';
import { ASPECT_RATIOS, MAX_IMAGES_PER_JOB, type ProductDefaults } from '../config/index.js';
import { EMPHASIS_MODES, HIRES_UPSCALERS, REQUEST_LIMITS } from '../pipeline/index.js';

const { steps: STEPS, cfg: CFG, strength: STRENGTH, clipSkip: CLIP_SKIP } = REQUEST_LIMITS;

/** How `/config show` groups the settings. */
export type SettingGroup = 'Defaults' | 'Per model family' | 'Limits' | 'Channels & words' | 'Behaviour' | 'Content policy';

/**
 * How a moderator's text becomes a value (see `parse-value.ts`): a number, free text, one of a few words, a
 * boolean (true/false, on/off, yes/no), a comma-separated word list, channel mentions or ids, or a sampler name.
 */
export type SettingInput = 'number' | 'text' | 'choice' | 'boolean' | 'words' | 'channels' | 'sampler';

/** What every entry of {@link SETTING_KEYS} has; `bounds` and `integer` only for numbers. */
export interface SettingSpec {
  readonly schema: z.ZodType;
  readonly input: SettingInput;
  readonly group: SettingGroup;
  /** One line for `/config show` and autocomplete. */
  readonly describe: string;
  /** The valid values, phrased to follow "must be": "a whole number from 1 to 150". */
  readonly range: string;
  readonly bounds?: readonly [min: number, max: number];
  readonly integer?: boolean;
}

function wholeNumber(min: number, max: number) {
  return {
    schema: z.number().int().min(min).max(max),
    input: 'number',
    bounds: [min, max],
    integer: true,
    range: numberRange(min, max, true),
  } as const;
}

function decimal(min: number, max: number) {
  return {
    schema: z.number().min(min).max(max),
    input: 'number',
    bounds: [min, max],
    integer: false,
    range: numberRange(min, max, false),
  } as const;
}

function choice<const T extends readonly [string, ...string[]]>(values: T) {
  return { schema: z.enum(values), input: 'choice', range: `one of ${values.join(', ')}` } as const;
}

/** "a whole number from 1 to 150" / "a number from 0 to 1". */
export function numberRange(min: number, max: number, integer: boolean): string {
  return `${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`;
}

/** A sampler setting: stored as the sampler id, but read back as any string (a record must stay readable if a sampler is retired). */
const samplerSetting = {
  schema: z.string().min(1).max(40),
  input: 'sampler',
  range: 'a sampler name such as "DPM++ 2M Karras" or "Euler a"',
  group: 'Defaults',
} as const;

/**
 * Every per-server setting a moderator may change with `/config set`, with its validation and a description.
 * Defaults come from `config/default.json`; a server's own values overlay them. The schemas check stored values;
 * `parse-value.ts` turns a moderator's text into a value first.
 */
export const SETTING_KEYS = {
  model: {
    // Checked against the bot's models when set (`/config`); one removed since falls back to the bot's default.
    schema: z.string().max(200),
    input: 'text',
    range: "a model's name (`/imagine model:` lists them), or none for the bot's default",
    group: 'Defaults',
    describe: "default model (empty = the bot's first)",
  },
  steps: { ...wholeNumber(STEPS.min, STEPS.max), group: 'Defaults', describe: 'default denoising steps (at most maxSteps)' },
  cfg: { ...decimal(CFG.min, CFG.max), group: 'Defaults', describe: 'default guidance scale (CFG)' },
  sampler: { ...samplerSetting, describe: 'default sampler' },
  aspect: { ...choice(ASPECT_RATIOS), group: 'Defaults', describe: 'default aspect ratio' },
  // Per model family: set here, they win over `steps`, `cfg` and `sampler` for the models of that family.
  'sd1.steps': { ...wholeNumber(STEPS.min, STEPS.max), group: 'Per model family', describe: 'default steps on SD 1.x models (wins over steps)' },
  'sd1.cfg': { ...decimal(CFG.min, CFG.max), group: 'Per model family', describe: 'default CFG on SD 1.x models (wins over cfg)' },
  'sd1.sampler': { ...samplerSetting, group: 'Per model family', describe: 'default sampler on SD 1.x models (wins over sampler)' },
  'sdxl.steps': { ...wholeNumber(STEPS.min, STEPS.max), group: 'Per model family', describe: 'default steps on SDXL models (wins over steps)' },
  'sdxl.cfg': { ...decimal(CFG.min, CFG.max), group: 'Per model family', describe: 'default CFG on SDXL models (wins over cfg)' },
  'sdxl.sampler': { ...samplerSetting, group: 'Per model family', describe: 'default sampler on SDXL models (wins over sampler)' },
  negativePrompt: {
    schema: z.string().max(1000),
    input: 'text',
    range: 'text of up to 1000 characters, or none',
    group: 'Defaults',
    describe: "negative prompt put before every member's negative prompt",
  },
  rng: { ...choice(['gpu', 'cpu']), group: 'Defaults', describe: 'noise source (gpu matches AUTOMATIC1111 seeds)' },
  compat: {
    ...choice(['a1111', 'diffusers']),
    group: 'Defaults',
    describe: "sampling: a1111 gives AUTOMATIC1111's picture for the same parameters; diffusers runs diffusers' schedulers",
  },
  emphasis: {
    ...choice(EMPHASIS_MODES),
    group: 'Defaults',
    describe: "how (word:1.2) weights act: AUTOMATIC1111's Original, No norm, or None (brackets read as text)",
  },
  clipSkip: {
    ...wholeNumber(CLIP_SKIP.min, CLIP_SKIP.max),
    group: 'Defaults',
    describe: "default clip skip (AUTOMATIC1111's; 2 suits anime models; capped at what the model offers)",
  },
  hiresUpscaler: {
    ...choice(HIRES_UPSCALERS),
    group: 'Defaults',
    describe: "how upscale (hires fix) enlarges the first pass: A1111's Latent, Latent (nearest) or Lanczos",
  },
  hiresStrength: { ...decimal(STRENGTH.min, STRENGTH.max), group: 'Defaults', describe: 'denoising strength of the upscale second pass' },
  varySubtle: { ...decimal(STRENGTH.min, STRENGTH.max), group: 'Defaults', describe: 'strength of the Vary (subtle) button' },
  varyStrong: { ...decimal(STRENGTH.min, STRENGTH.max), group: 'Defaults', describe: 'strength of the Vary (strong) button' },
  maxSteps: { ...wholeNumber(STEPS.min, STEPS.max), group: 'Limits', describe: 'most steps a member may ask for' },
  maxPixels: { ...wholeNumber(4096, 4194304), group: 'Limits', describe: 'largest width × height a member may ask for' },
  maxCount: { ...wholeNumber(1, MAX_IMAGES_PER_JOB), group: 'Limits', describe: 'most images per command' },
  maxQueuedPerMember: { ...wholeNumber(1, 100), group: 'Limits', describe: 'jobs one member may have waiting' },
  cooldownSeconds: { ...decimal(0, 3600), group: 'Limits', describe: "seconds between a member's commands" },
  minStrength: { ...decimal(STRENGTH.min, STRENGTH.max), group: 'Limits', describe: 'lowest /variation strength (at most maxStrength)' },
  maxStrength: { ...decimal(STRENGTH.min, STRENGTH.max), group: 'Limits', describe: 'highest /variation strength' },
  overLimit: {
    ...choice(['refuse', 'clamp']),
    group: 'Limits',
    describe: 'a request over a limit is refused, or clamped to the limit (the member is told)',
  },
  allowedChannels: {
    schema: z.array(z.string().regex(/^\d{17,20}$/)).max(100),
    input: 'channels',
    range: 'channel mentions or ids, comma-separated (at most 100), or all',
    group: 'Channels & words',
    describe: 'channels where commands are taken (empty = all)',
  },
  allowedLoras: {
    schema: z.array(z.string().min(1).max(100)).max(500),
    input: 'words',
    range: 'LoRA names, comma-separated (at most 500), or none for all',
    group: 'Channels & words',
    describe: 'LoRAs members may call (empty = every LoRA in LORA_DIR)',
  },
  blockedWords: {
    schema: z.array(z.string().min(1).max(100)).max(500),
    input: 'words',
    range: 'words or phrases of up to 100 characters, comma-separated (at most 500), or none',
    group: 'Channels & words',
    describe: 'words that make a prompt refused (replaces the whole list)',
  },
  rerollReactions: {
    schema: z.boolean(),
    input: 'boolean',
    range: 'true or false (or on/off, yes/no)',
    group: 'Behaviour',
    describe: 'whether a 🎲 reaction rerolls a result',
  },
  previews: {
    schema: z.boolean(),
    input: 'boolean',
    range: 'true or false (or on/off, yes/no)',
    group: 'Behaviour',
    describe: 'whether a running job shows a small preview of its picture (at most one edit every 1.5 s)',
  },
  deleteResults: {
    ...choice(['requester-and-moderators', 'moderators']),
    group: 'Behaviour',
    describe: 'who may delete results',
  },
  nsfw: {
    ...choice(['block', 'spoiler', 'allow']),
    group: 'Content policy',
    describe: 'a result the content filter flags, in age-restricted channels: blocked, posted as a spoiler, or posted',
  },
  nsfwOutside: {
    ...choice(['block', 'spoiler']),
    group: 'Content policy',
    describe: 'a result the content filter flags, in other channels: blocked or posted as a spoiler',
  },
  nsfwThreshold: {
    ...decimal(0, 1),
    group: 'Content policy',
    describe: 'a picture is flagged when its explicit score is over this (0 flags everything, 1 nothing)',
  },
  explicitTerms: {
    ...choice(['refuse', 'allow']),
    group: 'Content policy',
    describe: 'prompts with known explicit terms outside age-restricted channels: refused or allowed',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTING_KEYS;
export type GuildSettings = { readonly [K in SettingKey]: z.infer<(typeof SETTING_KEYS)[K]['schema']> };
/** Any one setting's value, as stored and as shown in the history. */
export type SettingValue = GuildSettings[SettingKey];
/** The settings whose value is a number, and so have `bounds`. */
export type NumberKey = { [K in SettingKey]: (typeof SETTING_KEYS)[K]['input'] extends 'number' ? K : never }[SettingKey];

/** Every key, in the order `/config show` lists them. */
export const SETTING_KEY_NAMES = Object.keys(SETTING_KEYS) as readonly SettingKey[];

/** The settings every server starts with, from the product defaults. */
export function defaultSettings(defaults: ProductDefaults): GuildSettings {
  const { generation: g, limits: l, discord: d, contentPolicy: c } = defaults;
  return Object.freeze({
    // The models are the machine's (MODEL_DIR, MODELS_DIR), not the product's: none is named by default.
    model: '',
    steps: g.steps,
    cfg: g.cfg,
    sampler: g.sampler,
    aspect: g.aspect,
    'sd1.steps': g.families.sd1.steps ?? g.steps,
    'sd1.cfg': g.families.sd1.cfg ?? g.cfg,
    'sd1.sampler': g.families.sd1.sampler ?? g.sampler,
    'sdxl.steps': g.families.sdxl.steps ?? g.steps,
    'sdxl.cfg': g.families.sdxl.cfg ?? g.cfg,
    'sdxl.sampler': g.families.sdxl.sampler ?? g.sampler,
    negativePrompt: g.negativePrompt,
    rng: g.rng,
    compat: g.compat,
    emphasis: g.emphasis,
    clipSkip: g.clipSkip,
    hiresUpscaler: g.hiresUpscaler,
    hiresStrength: g.hiresStrength,
    varySubtle: g.varySubtle,
    varyStrong: g.varyStrong,
    maxSteps: l.maxSteps,
    maxPixels: l.maxPixels,
    maxCount: l.maxCount,
    maxQueuedPerMember: l.maxQueuedPerMember,
    cooldownSeconds: l.cooldownSeconds,
    minStrength: l.minStrength,
    maxStrength: l.maxStrength,
    overLimit: l.overLimit,
    allowedChannels: d.allowedChannels,
    allowedLoras: d.allowedLoras,
    blockedWords: d.blockedWords,
    rerollReactions: d.rerollReactions,
    previews: d.previews,
    deleteResults: d.deleteResults,
    nsfw: c.nsfw,
    nsfwOutside: c.nsfwOutside,
    nsfwThreshold: c.nsfwThreshold,
    explicitTerms: c.explicitTerms,
  });
}
