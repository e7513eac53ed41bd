import type { FamilyId, TextEncoderConfig } from './components.js';

/** A text encoder as a single file holds it: where its keys are, how they are named, what they do not say. */
export interface TextEncoderRow {
  readonly prefix: string;
  readonly layout: 'clip' | 'openclip';
  readonly hiddenAct: TextEncoderConfig['hiddenAct'];
  /** Width of one attention head (CLIP ViT-L/14, OpenCLIP ViT-H/14 and ViT-bigG/14: 64). */
  readonly headDim: number;
  /** SD 2.x conditions on the penultimate layer: diffusers' config drops the last one. */
  readonly droppedLayers: number;
  /** Whether the encoder's `text_projection` is part of it (SDXL's second: its pooled `text_embeds`). */
  readonly projection: boolean;
}

/**
 * The checkpoint families dreamcord converts, as data. A new family adds a row and, where its
 * single-file layout differs, a key mapping; the readers and graph writers do not branch on family ids.
 *
 * What the weights do not record (head counts, group counts, the scheduler) comes from here. Real models use the
 * family's published values; models too narrow for them (the tiny test models: a 16-wide text encoder, 8-channel
 * VAE levels) use the scaled-down values of `headWidth()` and `normGroups()`. Those rules reproduce the fixtures'
 * ONNX graphs (2 text heads of 8; 8 groups) and give every real width its published value.
 */
export interface FamilyRow {
  readonly id: FamilyId;
  /** What a user would call it, for messages. */
  readonly label: string;
  /** The single-file key prefix of the text encoder, and its naming scheme. */
  readonly textEncoder: TextEncoderRow;
  /** SDXL's second text encoder (OpenCLIP ViT-bigG); absent in the one-encoder families. */
  readonly textEncoder2?: TextEncoderRow;
  readonly unet: {
    readonly inChannels: number;
    /** SD 1.x: the same head count at every level; SD 2.x and SDXL: a fixed head width. */
    readonly heads: { readonly count: number } | { readonly width: number };
    /**
     * Attention scores in float32 in fp16 graphs. SD 2.1 needs it (its fp16 scores overflow); a single file does
     * not say whether it is 2.0 or 2.1, so all of SD 2.x gets it (it costs a little speed, never accuracy).
     */
    readonly upcastAttention: boolean;
  };
  readonly normNumGroups: number;
  readonly vaeScalingFactor: number;
  /** The scheduler config a single file implies (its `model_index` would have said it; the file cannot). */
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
}

/** `scheduler/scheduler_config.json` of runwayml/stable-diffusion-v1-5 (and of SD 2.x base). */
const SD_SCHEDULER = {
  _class_name: 'PNDMScheduler',
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  num_train_timesteps: 1000,
  steps_offset: 1,
  set_alpha_to_one: false,
  clip_sample: false,
  skip_prk_steps: true,
  prediction_type: 'epsilon',
  trained_betas: null,
} as const;

/**
 * `scheduler/scheduler_config.json` of stabilityai/stable-diffusion-xl-base-1.0: Euler with `leading` timestep
 * spacing, which every SDXL sampler inherits (diffusers builds samplers from the model's config).
 */
const SDXL_SCHEDULER = {
  ...SD_SCHEDULER,
  _class_name: 'EulerDiscreteScheduler',
  sample_max_value: 1.0,
  interpolation_type: 'linear',
  timestep_spacing: 'leading',
  use_karras_sigmas: false,
} as const;

const CLIP_TEXT = { layout: 'clip', hiddenAct: 'quick_gelu', headDim: 64, droppedLayers: 0, projection: false } as const;
const SD1_TEXT = { ...CLIP_TEXT, prefix: 'cond_stage_model.transformer.' } as const;
const SD2_TEXT = {
  prefix: 'cond_stage_model.model.',
  layout: 'openclip',
  hiddenAct: 'gelu',
  headDim: 64,
  droppedLayers: 1,
  projection: false,
} as const;
const COMMON = { normNumGroups: 32, vaeScalingFactor: 0.18215, schedulerConfig: SD_SCHEDULER } as const;

const SD1: FamilyRow = {
  id: 'sd1',
  label: 'Stable Diffusion 1.x',
  textEncoder: SD1_TEXT,
  unet: { inChannels: 4, heads: { count: 8 }, upcastAttention: false },
  ...COMMON,
};
const SD2: FamilyRow = {
  id: 'sd2',
  label: 'Stable Diffusion 2.x',
  textEncoder: SD2_TEXT,
  unet: { inChannels: 4, heads: { width: 64 }, upcastAttention: true },
  ...COMMON,
};

/** A family's inpainting model: the same, except that the UNet also takes the mask and the masked image's latents. */
function inpainting(base: FamilyRow, id: FamilyId): FamilyRow {
  return { ...base, id, label: `${base.label} inpainting`, unet: { ...base.unet, inChannels: 9 } };
}

/**
 * SDXL base: CLIP ViT-L (its penultimate layer) and OpenCLIP ViT-bigG (its penultimate layer and its pooled
 * projection), a UNet with the size and crop conditioning (`label_emb`), a VAE scaled by 0.13025.
 */
const SDXL: FamilyRow = {
  id: 'sdxl',
  label: 'Stable Diffusion XL',
  textEncoder: { ...CLIP_TEXT, prefix: 'conditioner.embedders.0.transformer.' },
  textEncoder2: {
    prefix: 'conditioner.embedders.1.model.',
    layout: 'openclip',
    hiddenAct: 'gelu',
    headDim: 64,
    droppedLayers: 0,
    projection: true,
  },
  unet: { inChannels: 4, heads: { width: 64 }, upcastAttention: false },
  normNumGroups: 32,
  vaeScalingFactor: 0.13025,
  schedulerConfig: SDXL_SCHEDULER,
};

export const FAMILIES: readonly FamilyRow[] = [
  SD1,
  inpainting(SD1, 'sd1-inpaint'),
  SD2,
  inpainting(SD2, 'sd2-inpaint'),
  SDXL,
];

/** The family whose text encoder layout, encoder count and UNet input width match, if any. */
export function findFamily(
  textLayout: 'clip' | 'openclip',
  unetInChannels: number,
  twoEncoders = false,
): FamilyRow | undefined {
  return FAMILIES.find(
    (f) =>
      f.textEncoder.layout === textLayout &&
      f.unet.inChannels === unetInChannels &&
      (f.textEncoder2 !== undefined) === twoEncoders,
  );
}

export function familyById(id: FamilyId): FamilyRow {
  const row = FAMILIES.find((f) => f.id === id);
  if (!row) throw new Error(`no family ${id}`);
  return row;
}

/** The attention head width: the published one, or half the width of a model narrower than twice that. */
export function headWidth(published: number, width: number): number {
  return Math.min(published, Math.max(1, Math.floor(width / 2)));
}

/** Groups of the narrow test models, whose channel counts (8, 16) 32 groups cannot divide. */
const NARROW_NORM_GROUPS = 8;

/** GroupNorm's group count: the published one where it divides every level's width, else the narrow models' 8. */
export function normGroups(published: number, widths: readonly number[]): number {
  return widths.every((w) => w % published === 0) ? published : NARROW_NORM_GROUPS;
}
