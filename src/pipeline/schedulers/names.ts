import { SCHEDULER_IDS, type SchedulerId } from './types.js';

/** How a sampler is named in AUTOMATIC1111's web UI, and so in PNG infotext. */
export interface SamplerLabel {
  /** The name users know and type, e.g. "DPM++ 2M Karras"; {@link parseSamplerName} reads it back. */
  readonly name: string;
  /** A1111's "Sampler" field (≥ 1.9), without the schedule, e.g. "DPM++ 2M". */
  readonly sampler: string;
  /** A1111's "Schedule type" field when the schedule is not the sampler's usual one, e.g. "Karras"; else null. */
  readonly schedule: string | null;
}

/** The label of each id. ddim_trailing's "SGM Uniform" is A1111's name for trailing timestep spacing. */
const LABELS: { readonly [Id in SchedulerId]: SamplerLabel } = {
  pndm: { name: 'PLMS', sampler: 'PLMS', schedule: null },
  ddim: { name: 'DDIM', sampler: 'DDIM', schedule: null },
  ddim_trailing: { name: 'DDIM Trailing', sampler: 'DDIM', schedule: 'SGM Uniform' },
  ddim_v: { name: 'DDIM v-prediction', sampler: 'DDIM', schedule: null },
  euler: { name: 'Euler', sampler: 'Euler', schedule: null },
  euler_karras: { name: 'Euler Karras', sampler: 'Euler', schedule: 'Karras' },
  euler_v: { name: 'Euler v-prediction', sampler: 'Euler', schedule: null },
  euler_a: { name: 'Euler a', sampler: 'Euler a', schedule: null },
  lms: { name: 'LMS', sampler: 'LMS', schedule: null },
  heun: { name: 'Heun', sampler: 'Heun', schedule: null },
  dpm2: { name: 'DPM2', sampler: 'DPM2', schedule: null },
  dpm2_a: { name: 'DPM2 a', sampler: 'DPM2 a', schedule: null },
  dpmpp_2m: { name: 'DPM++ 2M', sampler: 'DPM++ 2M', schedule: null },
  dpmpp_2m_karras: { name: 'DPM++ 2M Karras', sampler: 'DPM++ 2M', schedule: 'Karras' },
  // A1111's "DPM++ 2S a" is ancestral; diffusers' singlestep solver is not, so only the plain name maps here.
  dpmpp_2s: { name: 'DPM++ 2S', sampler: 'DPM++ 2S', schedule: null },
  unipc: { name: 'UniPC', sampler: 'UniPC', schedule: null },
  deis: { name: 'DEIS', sampler: 'DEIS', schedule: null },
  ddpm: { name: 'DDPM', sampler: 'DDPM', schedule: null },
  lcm: { name: 'LCM', sampler: 'LCM', schedule: null },
  dpmpp_2s_a: { name: 'DPM++ 2S a', sampler: 'DPM++ 2S a', schedule: null },
  dpm_fast: { name: 'DPM fast', sampler: 'DPM fast', schedule: null },
  dpm_adaptive: { name: 'DPM adaptive', sampler: 'DPM adaptive', schedule: null },
  restart: { name: 'Restart', sampler: 'Restart', schedule: null },
  ddim_cfgpp: { name: 'DDIM CFG++', sampler: 'DDIM CFG++', schedule: null },
  dpmpp_sde: { name: 'DPM++ SDE', sampler: 'DPM++ SDE', schedule: null },
  dpmpp_2m_sde: { name: 'DPM++ 2M SDE', sampler: 'DPM++ 2M SDE', schedule: null },
  dpmpp_2m_sde_heun: { name: 'DPM++ 2M SDE Heun', sampler: 'DPM++ 2M SDE Heun', schedule: null },
  dpmpp_3m_sde: { name: 'DPM++ 3M SDE', sampler: 'DPM++ 3M SDE', schedule: null },
};

/** Case, spaces and underscores do not matter: "euler_a", "Euler a" and "EULER  A" are one name. */
function normalize(name: string): string {
  return name.trim().toLowerCase().replace(/[\s_]+/g, ' ');
}

const BY_NAME: ReadonlyMap<string, SchedulerId> = new Map<string, SchedulerId>([
  ...SCHEDULER_IDS.map((id) => [normalize(id), id] as const),
  ...SCHEDULER_IDS.map((id) => [normalize(LABELS[id].name), id] as const),
]);

/**
 * The sampler id of a name a user typed: an A1111 name ("Euler a", "DPM++ 2M Karras", "PLMS", …) or an id
 * ("euler_a"), ignoring case, extra spaces and `_` vs space.
 * @throws {RangeError} for an unknown name, listing the valid ones.
 */
export function parseSamplerName(name: string): SchedulerId {
  const id = BY_NAME.get(normalize(name));
  if (id === undefined) {
    const valid = SAMPLER_CHOICES.map((c) => c.name).join(', ');
    throw new RangeError(`Unknown sampler ${JSON.stringify(name)}. Valid samplers: ${valid} (or their ids, e.g. euler_a).`);
  }
  return id;
}

/** The A1111 label of a sampler id: its display name, and the sampler and schedule fields of PNG infotext. */
export function samplerLabel(id: SchedulerId): SamplerLabel {
  return LABELS[id];
}

/** Every sampler as a Discord option choice, display name → id, in {@link SCHEDULER_IDS} order. */
export const SAMPLER_CHOICES: readonly { readonly name: string; readonly value: SchedulerId }[] = SCHEDULER_IDS.map(
  (id) => ({ name: LABELS[id].name, value: id }),
);

/**
 * The choices matching what a user has typed so far, for Discord autocomplete: those whose name or id contains
 * `query` (case-insensitively), names that start with it first; at most `limit` (Discord's maximum is 25).
 */
export function suggestSamplers(
  query: string,
  limit = 25,
): readonly { readonly name: string; readonly value: SchedulerId }[] {
  const q = normalize(query);
  const matches = SAMPLER_CHOICES.filter((c) => normalize(c.name).includes(q) || normalize(c.value).includes(q));
  const starts = (c: { readonly name: string }): number => (normalize(c.name).startsWith(q) ? 0 : 1);
  return [...matches].sort((a, b) => starts(a) - starts(b)).slice(0, limit);
}
