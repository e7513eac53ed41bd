import type { GenerationRequest } from '../generator/request.js';
import { hiresSize } from '../pipeline/index.js';
import { Refused } from '../refusal.js';
import type { GuildSettings } from '../settings/keys.js';
import { shownValue as shown } from '../shown-value.js';

/** `/imagine upscale`'s choices, A1111's "Upscale by"; the ⬆️ Upscale button asks for 2×. */
export const UPSCALE_CHOICES = { '1.5x': 1.5, '2x': 2 } as const;
export type UpscaleChoice = keyof typeof UPSCALE_CHOICES;
export const BUTTON_UPSCALE = UPSCALE_CHOICES['2x'];

type Size = { readonly width: number; readonly height: number };
type Hires = NonNullable<GenerationRequest['hires']>;

/** The scale of an `upscale` option: '1.5x' or '2x'. */
export function upscaleScale(value: unknown): number {
  if (typeof value === 'string' && value in UPSCALE_CHOICES) return UPSCALE_CHOICES[value as UpscaleChoice];
  throw new Refused('INVALID_OPTION', `\`upscale\` must be one of ${Object.keys(UPSCALE_CHOICES).join(', ')}, got ${shown(value)}.`);
}

/**
 * A1111's hires fix of a `size` picture at `scale`, with the server's upscaler and second-pass strength and the
 * first pass's `steps`. A target over the server's `maxPixels` is refused, or with `overLimit: clamp` made at the
 * largest scale that fits (with a notice); a picture with no room to grow at all is refused either way.
 * @throws Refused
 */
export function hiresOf(size: Size, scale: number, steps: number, settings: GuildSettings, notices: string[]): Hires {
  const hires = { upscaler: settings.hiresUpscaler, strength: settings.hiresStrength, steps };
  const target = hiresSize(size.width, size.height, scale);
  if (pixels(target) <= settings.maxPixels) return { ...hires, scale };
  const asked = `Upscaling ${size.width}×${size.height} by ${scale}× makes ${target.width}×${target.height} (${pixels(target)} pixels), over this server's limit of ${settings.maxPixels} pixels`;
  // Two decimals, rounded down: the target of the scale shown is the one made, and it fits.
  const fitting = Math.floor(Math.sqrt(settings.maxPixels / pixels(size)) * 100) / 100;
  const clamped = hiresSize(size.width, size.height, fitting);
  if (clamped.width <= size.width || clamped.height <= size.height) throw new Refused('OVER_LIMIT', `${asked}; it cannot be upscaled here.`);
  if (settings.overLimit !== 'clamp') throw new Refused('OVER_LIMIT', `${asked}.`);
  notices.push(`${asked}; upscaled by ${fitting}× to ${clamped.width}×${clamped.height}.`);
  return { ...hires, scale: fitting };
}

function pixels(size: Size): number {
  return size.width * size.height;
}
