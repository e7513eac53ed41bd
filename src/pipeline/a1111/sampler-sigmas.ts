import type { CompVisSchedule, NoiseLevels } from './compvis.js';
import type { KSampler } from './k-samplers.js';
import { LcmNoiseLevels } from './lcm.js';
import { scheduleSigmas, type ScheduleType } from './schedule-types.js';

/**
 * `KDiffusionSampler.get_sigmas`: the schedule `type` (`Automatic`: the sampler's default) for `steps` steps;
 * samplers that discard the next-to-last sigma ask for one more level and drop it.
 */
export function samplerSigmas(sampler: KSampler, type: ScheduleType, steps: number, model: CompVisSchedule): Float64Array {
  const discard = sampler.discardNextToLastSigma;
  const sigmas = scheduleSigmas(resolvedSchedule(sampler, type), steps + (discard ? 1 : 0), noiseLevelsOf(sampler, model));
  if (!discard) return sigmas;
  const out = sigmas.slice(0, sigmas.length - 1);
  out[out.length - 1] = sigmas[sigmas.length - 1] ?? 0;
  return out;
}

/** The schedule type `Automatic` stands for with `sampler` (itself when the sampler has no default). */
export function resolvedSchedule(sampler: KSampler, type: ScheduleType): ScheduleType {
  return type === 'Automatic' ? (sampler.defaultSchedule ?? 'Automatic') : type;
}

/** The denoiser wrapper `sampler` runs over: LCM's for LCM, otherwise the model's `CompVisDenoiser`. */
export function noiseLevelsOf(sampler: KSampler, model: CompVisSchedule): NoiseLevels {
  return sampler.lcm ? new LcmNoiseLevels(model.alphasCumprod) : model;
}
