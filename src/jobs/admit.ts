import type { GuildSettings, SettingKey } from '../settings/keys.js';
import type { SettingsStore } from '../settings/settings-store.js';
import type { ValidatedRequest } from './build-request.js';
import type { Cooldowns } from './cooldowns.js';
import type { JobOrigin, JobRecord } from './job-record.js';
import type { JobService } from './job-service.js';
import type { DetailedRefusal, Refusal, Result } from '../refusal.js';
import { findBlockedWord } from './prompt-text.js';
import type { GenerationRequest } from '../generator/request.js';

/**
 * Turns the server's settings into a validated request, or a refusal. `overridden`: the settings the server set
 * itself (they win over a model's own defaults; see `model-choice.ts`).
 */
export type RequestBuilder = (
  settings: GuildSettings,
  overridden: ReadonlySet<SettingKey>,
) => Result<{ request: ValidatedRequest & Partial<GenerationRequest>; notices: string[] }>;

export interface AdmissionServices {
  readonly jobs: JobService;
  readonly settings: SettingsStore;
  readonly cooldowns: Cooldowns;
  /** `config/explicit-terms.txt`: refused in prompts outside age-restricted channels unless the server allows them. */
  readonly explicitTerms: readonly string[];
}

/**
 * The checks every request passes on its way into the queue, whatever started it (command, button, reaction):
 * the server's allowed channels, the request's own validation against the server's limits, explicit terms outside
 * age-restricted channels, the member's cooldown, and the queue's limits. Returns the accepted job's record, or why it was refused.
 */
export async function admitJob(
  services: AdmissionServices,
  origin: JobOrigin,
  build: RequestBuilder,
): Promise<Result<{ record: JobRecord; position: number; etaMs: number }> | ({ readonly ok: false } & DetailedRefusal)> {
  const { settings, overridden } = await services.settings.effective(origin.guildId);
  if (settings.allowedChannels.length > 0 && !settings.allowedChannels.includes(origin.channelId)) {
    return { ok: false, code: 'CHANNEL', details: { kind: 'wrong-channel', allowedChannelIds: settings.allowedChannels } };
  }
  const built = build(settings, overridden);
  if (!built.ok) return built;
  const explicit = explicitTermRefusal(built.request.prompt, origin, settings, services.explicitTerms);
  if (explicit) return explicit;
  const cooldown = services.cooldowns.claim(origin.guildId, origin.userId, settings.cooldownSeconds);
  if (!cooldown.ok) return cooldown;
  const submitted = await services.jobs.submit(
    { request: { ...built.request, previews: previewsIn(origin, settings) }, origin, notices: built.notices },
    { maxQueuedPerMember: settings.maxQueuedPerMember },
  );
  if (!submitted.ok) services.cooldowns.release(origin.guildId, origin.userId);
  return submitted;
}

/**
 * The previews the server allows in `origin`'s channel: none where the content policy blocks what its filter flags
 * (a preview is not screened), spoilers where it hides it, plain where it allows it.
 */
function previewsIn(origin: JobOrigin, settings: GuildSettings): GenerationRequest['previews'] {
  const policy = origin.ageRestricted ? settings.nsfw : settings.nsfwOutside;
  if (!settings.previews || policy === 'block') return undefined;
  return policy === 'allow' ? 'plain' : 'spoiler';
}

/**
 * The refusal of a prompt with an explicit term outside an age-restricted channel (`explicitTerms: refuse`). Only
 * the prompt counts: a negative prompt that names explicit content asks to keep it out.
 */
function explicitTermRefusal(prompt: string, origin: JobOrigin, settings: GuildSettings, terms: readonly string[]): ({ ok: false } & Refusal) | undefined {
  if (origin.ageRestricted || settings.explicitTerms === 'allow') return undefined;
  const term = findBlockedWord(prompt, terms);
  if (term === undefined) return undefined;
  return {
    ok: false,
    code: 'BLOCKED',
    message: `This prompt has an explicit term ("${term}"), which this server allows only in age-restricted channels.`,
  };
}
