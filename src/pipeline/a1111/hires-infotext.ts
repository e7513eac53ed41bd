// The hires fix's fields in A1111's infotext (`Hires sampler`, `Hires prompt`, `Hires negative prompt`, `Hires
// schedule type`, `Hires upscale`, `Hires steps`, `Hires upscaler`, and Forge's `Hires CFG Scale`; its strength is
// `Denoising strength`), written and read back by the same names.
import {
  HIRES_UPSCALER_LABELS,
  HIRES_UPSCALERS,
  inheritedHiresSchedule,
  type Compat,
  type HiresOptions,
  type HiresUpscaler,
  type ResolvedHires,
} from '../request.js';
import { parseSamplerName, samplerLabel, type SchedulerId } from '../schedulers/index.js';
import { kSamplerFor } from './k-samplers.js';
import { namedSchedule } from './samplers.js';
import { resolvedSchedule } from './sampler-sigmas.js';
import { parseScheduleType, type ScheduleType } from './schedule-types.js';

const KEYS = {
  sampler: 'Hires sampler',
  prompt: 'Hires prompt',
  negativePrompt: 'Hires negative prompt',
  scheduleType: 'Hires schedule type',
  scale: 'Hires upscale',
  steps: 'Hires steps',
  upscaler: 'Hires upscaler',
  cfg: 'Hires CFG Scale',
} as const;

/** The first pass's settings a hires pass may differ from, and its sampling mode. */
interface FirstPass {
  readonly sampler: SchedulerId;
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly cfg: number;
  readonly scheduleType: ScheduleType;
  readonly compat?: Compat | undefined;
}

type OwnSettings = Partial<Pick<FirstPass, 'sampler' | 'prompt' | 'negativePrompt' | 'cfg' | 'scheduleType'>>;

/**
 * A1111's hires keys, in its order (its `init` adds them so, `Hires schedule type` as a placeholder its sampler
 * fills): the sampler, prompt and negative prompt only where they differ from the first pass's, as A1111 writes them
 * (A1111 leaves `Hires steps` out when it is 0, "as the first pass"; ours is always set); the schedule type by
 * A1111's rule ({@link hiresScheduleLabel}); Forge's `Hires CFG Scale` where it differs, last.
 */
export function hiresInfotext(hires: Pick<ResolvedHires, 'scale' | 'steps' | 'upscaler'> & OwnSettings, first?: FirstPass): Record<string, string> {
  const differs = <K extends 'sampler' | 'prompt' | 'negativePrompt' | 'cfg'>(key: K): FirstPass[K] | undefined => {
    const own: OwnSettings = hires;
    const value = own[key];
    return first !== undefined && value !== undefined && value !== first[key] ? value : undefined;
  };
  const sampler = differs('sampler');
  const prompt = differs('prompt');
  const negativePrompt = differs('negativePrompt');
  const cfg = differs('cfg');
  const scheduleType = first?.compat === 'a1111' ? hiresScheduleLabel(first, hires) : undefined;
  return {
    ...(sampler === undefined ? {} : { [KEYS.sampler]: samplerLabel(sampler).name }),
    ...(prompt === undefined ? {} : { [KEYS.prompt]: prompt }),
    ...(negativePrompt === undefined ? {} : { [KEYS.negativePrompt]: negativePrompt }),
    ...(scheduleType === undefined ? {} : { [KEYS.scheduleType]: scheduleType }),
    [KEYS.scale]: String(hires.scale),
    [KEYS.steps]: String(hires.steps),
    [KEYS.upscaler]: HIRES_UPSCALER_LABELS[hires.upscaler],
    ...(cfg === undefined ? {} : { [KEYS.cfg]: String(cfg) }),
  };
}

/**
 * A1111's `Hires schedule type`, as its `KDiffusionSampler.get_sigmas` writes it in the hires pass: the schedule the
 * hires pass's type resolves to (`Automatic`: the sampler's default), when that schedule is one of its functions
 * (not the model's own `get_sigmas`, what `Automatic` stays without a default) and differs from the first pass's
 * `Schedule type` as that pass's `get_sigmas` recorded it (only a k-diffusion first pass with such a function does).
 * A1111's timestep samplers (DDIM, PLMS, UniPC) write none.
 */
function hiresScheduleLabel(first: Pick<FirstPass, 'sampler' | 'scheduleType'>, hires: OwnSettings): ScheduleType | undefined {
  const hiresSampler = hires.sampler ?? first.sampler;
  const hiresType = hires.scheduleType ?? inheritedHiresSchedule(hiresSampler, { ...first, a1111Sampling: true });
  const second = recordedSchedule(hiresSampler, hiresType);
  return second !== undefined && second !== recordedSchedule(first.sampler, first.scheduleType) ? second : undefined;
}

/** The schedule a k-diffusion sampler's `get_sigmas` records: the resolved type unless it is `Automatic`. */
function recordedSchedule(id: SchedulerId, type: ScheduleType): ScheduleType | undefined {
  const sampler = kSamplerFor(id);
  const resolved = sampler && resolvedSchedule(sampler, type);
  return resolved === 'Automatic' ? undefined : resolved;
}

/**
 * The hires fix of a pasted block's extra fields (taken out of `extra`; `denoisingStrength` is its strength), or
 * undefined without `Hires upscale`. `Hires steps: 0` (or none) is A1111's "as the first pass"; an upscaler
 * dreamcord lacks (an ESRGAN model, "Latent (bicubic)") is named in `ignored` and A1111's default, Latent, runs.
 */
export function hiresFromInfotext(extra: Record<string, string>, denoisingStrength: number | undefined, ignored: string[]): HiresOptions | undefined {
  const scaleText = extra[KEYS.scale];
  if (scaleText === undefined) return undefined;
  const scale = Number(scaleText);
  if (!Number.isFinite(scale)) return undefined;
  const steps = Number(extra[KEYS.steps] ?? 0);
  const upscalerText = extra[KEYS.upscaler] ?? HIRES_UPSCALER_LABELS.latent;
  const upscaler = HIRES_UPSCALERS.find((id) => HIRES_UPSCALER_LABELS[id] === upscalerText);
  if (!upscaler) ignored.push(`${KEYS.upscaler}: ${upscalerText} (not in dreamcord; Latent used)`);
  const pastedSampler = hiresSampler(extra[KEYS.sampler], ignored);
  // A `Hires sampler` that names its schedule ("DPM++ 2M Karras") is read as A1111 reads it: DPM++ 2M on Karras.
  const named = pastedSampler === undefined ? undefined : namedSchedule(pastedSampler);
  const sampler = named?.id ?? pastedSampler;
  const pastedSchedule = extra[KEYS.scheduleType];
  if (named && pastedSchedule !== undefined && pastedSchedule !== named.scheduleType) {
    ignored.push(`${KEYS.scheduleType}: ${pastedSchedule} (the Hires sampler's name says ${named.scheduleType}, as A1111 reads it)`);
  }
  const scheduleType = named?.scheduleType ?? hiresScheduleType(pastedSchedule, ignored);
  const cfgText = extra[KEYS.cfg];
  const cfg = cfgText === undefined ? undefined : Number(cfgText);
  if (cfg !== undefined && !Number.isFinite(cfg)) ignored.push(`${KEYS.cfg}: ${cfgText} (not a number)`);
  const prompt = extra[KEYS.prompt];
  const negativePrompt = extra[KEYS.negativePrompt];
  for (const key of Object.values(KEYS)) delete extra[key];
  return {
    scale,
    upscaler: upscaler ?? ('latent' satisfies HiresUpscaler),
    ...(Number.isInteger(steps) && steps > 0 ? { steps } : {}),
    ...(denoisingStrength === undefined ? {} : { strength: denoisingStrength }),
    ...(sampler === undefined ? {} : { sampler }),
    ...(scheduleType === undefined ? {} : { scheduleType }),
    ...(prompt === undefined ? {} : { prompt }),
    ...(negativePrompt === undefined ? {} : { negativePrompt }),
    ...(cfg === undefined || !Number.isFinite(cfg) ? {} : { cfg }),
  };
}

/** A pasted `Hires sampler` as a sampler id (A1111's "Use same sampler" is the first pass's). */
function hiresSampler(name: string | undefined, ignored: string[]): SchedulerId | undefined {
  if (name === undefined || name === 'Use same sampler') return undefined;
  try {
    return parseSamplerName(name);
  } catch {
    ignored.push(`${KEYS.sampler}: ${name} (not in dreamcord; the first pass's sampler used)`);
    return undefined;
  }
}

/** A pasted `Hires schedule type` (A1111's "Use same scheduler" is the first pass's). */
function hiresScheduleType(name: string | undefined, ignored: string[]): ScheduleType | undefined {
  if (name === undefined || name === 'Use same scheduler') return undefined;
  try {
    return parseScheduleType(name);
  } catch {
    ignored.push(`${KEYS.scheduleType}: ${name} (not in dreamcord; the first pass's schedule type used)`);
    return undefined;
  }
}
