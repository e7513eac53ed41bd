import type { GuildSettings } from '../settings/keys.js';
import type { RequestBuilder } from './admit.js';
import { findBlockedWord } from './prompt-text.js';
import type { JobRecord } from './job-record.js';
import { randomSeed } from '../pipeline/index.js';

/**
 * The request of a 🎲 reroll: the job's request with a new seed, checked again against the server's current
 * settings (limits may have changed since, and the member rerolling may not be the one who asked).
 */
export function rerollRequest(record: JobRecord): RequestBuilder {
  return (settings: GuildSettings) => {
    const { request } = record;
    if (findBlockedWord(`${request.prompt}\n${request.negative}`, settings.blockedWords) !== undefined) {
      return { ok: false, code: 'BLOCKED', message: 'This prompt uses a word that is not allowed on this server.' };
    }
    const over = [
      request.steps > settings.maxSteps ? `steps ${request.steps} (limit ${settings.maxSteps})` : undefined,
      request.count > settings.maxCount ? `count ${request.count} (limit ${settings.maxCount})` : undefined,
      request.width * request.height > settings.maxPixels
        ? `${request.width}×${request.height} (limit ${settings.maxPixels} pixels)`
        : undefined,
    ].filter((text): text is string => text !== undefined);
    if (over.length > 0) {
      return { ok: false, code: 'OVER_LIMIT', message: `This job is over this server's current limits: ${over.join(', ')}.` };
    }
    return { ok: true, request: { ...request, seed: String(randomSeed()) }, notices: [] };
  };
}
