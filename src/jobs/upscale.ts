import type { GuildSettings } from '../settings/keys.js';
import { refusalOf } from '../refusal.js';
import type { RequestBuilder } from './admit.js';
import { BUTTON_UPSCALE, hiresOf } from './hires-request.js';
import type { JobRecord } from './job-record.js';
import { currentLimitsRefusal } from './reroll.js';

/** Whether the pictures of `record` can be upscaled by a button: txt2img results not upscaled already. */
export function canUpscale(record: JobRecord): boolean {
  return record.request.kind === 'txt2img' && record.request.hires === undefined;
}

/**
 * The request of ⬆️ Upscale (U1…Un): picture `index` (0-based) made again — its own seed, the job's parameters, so
 * the same first pass — with the hires fix at 2×, the server's upscaler and strength, within its current limits.
 */
export function upscaleRequest(record: JobRecord, index: number): RequestBuilder {
  return (settings: GuildSettings) => {
    if (!canUpscale(record)) {
      return { ok: false, code: 'INVALID_OPTION', message: 'Only pictures made by `/imagine` without `upscale` can be upscaled.' };
    }
    const seed = record.result?.seeds[index];
    if (seed === undefined) return { ok: false, code: 'NOT_FOUND', message: `This result has no picture ${index + 1}.` };
    const picture = { ...record.request, seed, count: 1 };
    const refusal = currentLimitsRefusal(picture, settings);
    if (refusal) return refusal;
    try {
      const notices: string[] = [];
      const hires = hiresOf(picture, BUTTON_UPSCALE, picture.steps, settings, notices);
      return { ok: true, request: { ...picture, hires }, notices };
    } catch (error) {
      return refusalOf(error);
    }
  };
}
