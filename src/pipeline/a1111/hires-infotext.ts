// The hires fix's fields in A1111's infotext (`Hires upscale`, `Hires steps`, `Hires upscaler`; its strength is
// `Denoising strength`), written and read back by the same names.
import { HIRES_UPSCALER_LABELS, HIRES_UPSCALERS, type HiresOptions, type HiresUpscaler, type ResolvedHires } from '../request.js';

const KEYS = { scale: 'Hires upscale', steps: 'Hires steps', upscaler: 'Hires upscaler' } as const;

/** A1111's hires keys, in its order (A1111 leaves `Hires steps` out when it is 0, "as the first pass"; ours is always set). */
export function hiresInfotext(hires: Pick<ResolvedHires, 'scale' | 'steps' | 'upscaler'>): Record<string, string> {
  return {
    [KEYS.scale]: String(hires.scale),
    [KEYS.steps]: String(hires.steps),
    [KEYS.upscaler]: HIRES_UPSCALER_LABELS[hires.upscaler],
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
  for (const key of Object.values(KEYS)) delete extra[key];
  return {
    scale,
    upscaler: upscaler ?? ('latent' satisfies HiresUpscaler),
    ...(Number.isInteger(steps) && steps > 0 ? { steps } : {}),
    ...(denoisingStrength === undefined ? {} : { strength: denoisingStrength }),
  };
}
