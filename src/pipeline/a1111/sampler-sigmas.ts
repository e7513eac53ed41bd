import type { CompVisSchedule } from './compvis.js';
import type { KSampler } from './k-samplers.js';
import { scheduleSigmas, type ScheduleType } from './schedule-types.js';

/**
 * `KDiffusionSampler.get_sigmas`: the schedule `type` (`Automatic`: the sampler's default) for `steps` steps;
 * samplers that discard the next-to-last sigma ask for one more level and drop it.
 */
export function samplerSigmas(sampler: KSampler, type: ScheduleType, steps: number, model: CompVisSchedule): Float64Array {
  const discard = sampler.discardNextToLastSigma;
  const sigmas = scheduleSigmas(resolvedSchedule(sampler, type), steps + (discard ? 1 : 0), model);
  if (!discard) return sigmas;
  const out = sigmas.slice(0, sigmas.length - 1);
  out[out.length - 1] = sigmas[sigmas.length - 1] ?? 0;
  return out;
}

/** The schedule type `Automatic` stands for with `sampler` (itself when the sampler has no default). */
export function resolvedSchedule(sampler: KSampler, type: ScheduleType): ScheduleType {
  return type === 'Automatic' ? (sampler.defaultSchedule ?? 'Automatic') : type;
}
