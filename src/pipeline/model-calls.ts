import { kSamplerFor } from './a1111/k-samplers.js';
import { compVisScheduleOf, walkedSigmas } from './a1111/sample.js';
import type { ResolvedParameters } from './request.js';
import { createScheduler, img2imgTimesteps, type SchedulerConfig } from './schedulers/index.js';

/**
 * The UNet evaluations a request makes: the unit of its progress reports (`ProgressCallback`'s `total`) and the
 * measure of its work. Not the same as `steps`: Heun and DPM2 evaluate twice per step (but the last), and
 * img2img and inpainting skip the first steps. Computed from the sampler's schedule for the model's
 * `schedulerConfig` (`ModelInfo.schedulerConfig`), so it matches what `generate` will report.
 */
export function countModelCalls(
  request: Pick<ResolvedParameters, 'kind' | 'sampler' | 'steps' | 'strength'> &
    Partial<Pick<ResolvedParameters, 'compat' | 'scheduleType'>>,
  schedulerConfig: SchedulerConfig,
): number {
  const kSampler = request.compat === 'a1111' && request.kind !== 'inpaint' ? kSamplerFor(request.sampler) : undefined;
  if (kSampler) return kSampler.modelCalls(walkedSigmas(kSampler, { scheduleType: 'Automatic', ...request }, compVisScheduleOf(schedulerConfig)));
  const scheduler = createScheduler(request.sampler, schedulerConfig);
  if (request.kind !== 'txt2img') return img2imgTimesteps(scheduler, request.steps, request.strength).timesteps.length;
  scheduler.setTimesteps(request.steps);
  return scheduler.timesteps.length;
}
