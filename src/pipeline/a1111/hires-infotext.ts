// The hires fix's fields in A1111's infotext (`Hires sampler`, `Hires prompt`, `Hires negative prompt`, `Hires
// upscale`, `Hires steps`, `Hires upscaler`, and Forge's `Hires CFG Scale`; its strength is `Denoising strength`),
// written and read back by the same names.
import { HIRES_UPSCALER_LABELS, HIRES_UPSCALERS, type HiresOptions, type HiresUpscaler, type ResolvedHires } from '../request.js';
import { parseSamplerName, samplerLabel, type SchedulerId } from '../schedulers/index.js';

const KEYS = {
  sampler: 'Hires sampler',
  prompt: 'Hires prompt',
  negativePrompt: 'Hires negative prompt',
  scale: 'Hires upscale',
  steps: 'Hires steps',
  upscaler: 'Hires upscaler',
  cfg: 'Hires CFG Scale',
} as const;

/** The first pass's settings a hires pass may differ from. */
interface FirstPass {
  readonly sampler: SchedulerId;
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly cfg: number;
}

/**
 * A1111's hires keys, in its order (its `init` adds them so): the sampler, prompt and negative prompt only where they
 * differ from the first pass's, as A1111 writes them (A1111 leaves `Hires steps` out when it is 0, "as the first
 * pass"; ours is always set); Forge's `Hires CFG Scale` where it differs, last.
 */
export function hiresInfotext(
  hires: Pick<ResolvedHires, 'scale' | 'steps' | 'upscaler'> & Partial<FirstPass>,
  first?: FirstPass,
): Record<string, string> {
  const differs = <K extends keyof FirstPass>(key: K): FirstPass[K] | undefined => {
    const own: Partial<FirstPass> = hires;
    const value = own[key];
    return first !== undefined && value !== undefined && value !== first[key] ? value : undefined;
  };
  const sampler = differs('sampler');
  const prompt = differs('prompt');
  const negativePrompt = differs('negativePrompt');
  const cfg = differs('cfg');
  return {
    ...(sampler === undefined ? {} : { [KEYS.sampler]: samplerLabel(sampler).name }),
    ...(prompt === undefined ? {} : { [KEYS.prompt]: prompt }),
    ...(negativePrompt === undefined ? {} : { [KEYS.negativePrompt]: negativePrompt }),
    [KEYS.scale]: String(hires.scale),
    [KEYS.steps]: String(hires.steps),
    [KEYS.upscaler]: HIRES_UPSCALER_LABELS[hires.upscaler],
    ...(cfg === undefined ? {} : { [KEYS.cfg]: String(cfg) }),
  };
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
  const sampler = hiresSampler(extra[KEYS.sampler], ignored);
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
