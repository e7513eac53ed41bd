import type { GuildSettings } from '../settings/keys.js';
import { refusalOf } from '../refusal.js';
import type { GenerationRequest } from '../generator/request.js';
import { hiresSize } from '../pipeline/index.js';
import type { PreparedInputs } from '../inputs/image-inputs.js';
import type { RequestBuilder } from './admit.js';
import { BUTTON_UPSCALE, hiresOf } from './hires-request.js';
import type { JobRecord } from './job-record.js';
import { currentLimitsRefusal } from './reroll.js';
import { resolveOnce } from './build-request.js';

/**
 * Whether the pictures of `record` can be upscaled by a button: every result but one the hires fix made already
 * (its picture is the upscale).
 */
export function canUpscale(record: JobRecord): boolean {
  return record.request.hires === undefined;
}

/**
 * The request of ⬆️ Upscale (U1…Un) on an `/imagine` result: picture `index` (0-based) made again — its own seed,
 * the job's parameters, so the same first pass — with the hires fix at 2×, the server's upscaler and strength,
 * within its current limits.
 */
export function upscaleRequest(record: JobRecord, index: number): RequestBuilder {
  return upscaleOf(record, index, (picture, settings, notices) => ({
    ...picture,
    hires: hiresOf(picture, BUTTON_UPSCALE, picture.steps, settings, notices),
  }));
}

/**
 * The request of ⬆️ Upscale (U1…Un) on a picture made from another (a variation, an inpaint, a zoom out or pan), of
 * which there is no first pass to make again: the delivered picture (`inputs`, from `ImageInputs.fromJob`) enlarged
 * 2× (Lanczos) and redrawn by img2img at that size with its seed, the job's prompt and parameters and the server's
 * `hiresStrength` — the hires fix's second pass, on the picture itself. An inpaint's mask is not kept: the whole
 * picture is redrawn, lightly. Within the server's `maxPixels` as the hires fix is (refused, or clamped and said).
 */
export function pictureUpscaleRequest(record: JobRecord, index: number, inputs: PreparedInputs): RequestBuilder {
  return upscaleOf(record, index, (picture, settings, notices) => {
    const { width, height } = inputs.stored;
    const { scale } = hiresOf(inputs.stored, BUTTON_UPSCALE, picture.steps, settings, notices);
    const target = hiresSize(width, height, scale);
    // The mask's fields go: an img2img of the whole picture has none.
    const { mask, ...unmasked } = picture;
    const strength = settings.hiresStrength;
    notices.push(`Upscaled from ${width}×${height}: enlarged ${scale}× and redrawn at strength ${strength}${mask ? ' (the whole picture, not only the mask)' : ''}.`);
    return { ...unmasked, kind: 'img2img', ...target, strength, source: { ...inputs.source, ...target } };
  });
}

/**
 * An upscale of picture `index` of `record` as `upscaled` makes it (adding its notices), checked as a command's
 * request is: the server's current limits, then the pipeline's own resolve (a second pass of no step — 1 step at
 * strength 0.5 — is refused to the member, as `/imagine upscale` is).
 */
function upscaleOf(
  record: JobRecord,
  index: number,
  upscaled: (picture: GenerationRequest, settings: GuildSettings, notices: string[]) => GenerationRequest,
): RequestBuilder {
  return (settings: GuildSettings) => {
    if (!canUpscale(record)) return { ok: false, code: 'INVALID_OPTION', message: 'This picture was upscaled already.' };
    const seed = record.result?.seeds[index];
    if (seed === undefined) return { ok: false, code: 'NOT_FOUND', message: `This result has no picture ${index + 1}.` };
    const picture = { ...record.request, seed, count: 1 };
    const refusal = currentLimitsRefusal(picture, settings);
    if (refusal) return refusal;
    try {
      const notices: string[] = [];
      const request = upscaled(picture, settings, notices);
      resolveOnce(request);
      return { ok: true, request, notices };
    } catch (error) {
      return refusalOf(error);
    }
  };
}
