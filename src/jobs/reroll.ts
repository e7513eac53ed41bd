import type { GuildSettings } from '../settings/keys.js';
import type { RequestBuilder } from './admit.js';
import { findBlockedWord } from './prompt-text.js';
import type { JobRecord } from './job-record.js';
import { randomSeed } from '../pipeline/index.js';
import type { GenerationRequest } from '../generator/request.js';
import { outputSize } from '../generator/working-size.js';
import type { Refusal } from '../refusal.js';

/**
 * The request of a 🎲 reroll: the job's request with a new seed, checked again against the server's current
 * settings (limits may have changed since, and the member rerolling may not be the one who asked).
 */
export function rerollRequest(record: JobRecord): RequestBuilder {
  return (settings: GuildSettings) => {
    const refusal = currentLimitsRefusal(record.request, settings);
    if (refusal) return refusal;
    return { ok: true, request: { ...record.request, seed: String(randomSeed()) }, notices: [] };
  };
}

/**
 * Why an earlier job's `request` may not run again under the server's current settings (blocked words, steps,
 * count, pixels), or undefined when it may: a button's job is checked as a command's would be.
 */
export function currentLimitsRefusal(request: GenerationRequest, settings: GuildSettings): ({ ok: false } & Refusal) | undefined {
  if (findBlockedWord(`${request.prompt}\n${request.negative}`, settings.blockedWords) !== undefined) {
    return { ok: false, code: 'BLOCKED', message: 'This prompt uses a word that is not allowed on this server.' };
  }
  const size = outputSize(request);
  const over = [
    request.steps > settings.maxSteps ? `steps ${request.steps} (limit ${settings.maxSteps})` : undefined,
    request.count > settings.maxCount ? `count ${request.count} (limit ${settings.maxCount})` : undefined,
    size.width * size.height > settings.maxPixels ? `${size.width}×${size.height} (limit ${settings.maxPixels} pixels)` : undefined,
  ].filter((text): text is string => text !== undefined);
  if (over.length === 0) return undefined;
  return { ok: false, code: 'OVER_LIMIT', message: `This job is over this server's current limits: ${over.join(', ')}.` };
}
