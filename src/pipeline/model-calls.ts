import { a1111ModelCalls, compVisScheduleOf } from './a1111/sample.js';
import { a1111SamplerOf } from './a1111/samplers.js';
import { inheritedHiresSchedule, type ResolvedHires, type ResolvedParameters } from './request.js';
import { createScheduler, img2imgTimesteps, type SchedulerConfig } from './schedulers/index.js';

/**
 * The UNet evaluations a request makes: the unit of its progress reports (`ProgressCallback`'s `total`) and the
 * measure of its work. Not the same as `steps`: Heun and DPM2 evaluate twice per step (but the last), and
 * img2img and inpainting skip the first steps. Computed from the sampler's schedule for the model's
 * `schedulerConfig` (`ModelInfo.schedulerConfig`), so it matches what `generate` will report.
 */
export function countModelCalls(
  request: Pick<ResolvedParameters, 'kind' | 'sampler' | 'steps' | 'strength'> &
    Partial<Pick<ResolvedParameters, 'compat' | 'scheduleType'>> & { readonly hires?: HiresCalls | undefined },
  schedulerConfig: SchedulerConfig,
): number {
  const hires = request.hires ? countHiresCalls({ ...request, hires: request.hires }, schedulerConfig) : 0;
  const sampler = a1111SamplerOf(request);
  if (sampler) return a1111ModelCalls(sampler, { scheduleType: 'Automatic', ...request }, compVisScheduleOf(schedulerConfig)) + hires;
  const scheduler = createScheduler(request.sampler, schedulerConfig);
  if (request.kind !== 'txt2img') return img2imgTimesteps(scheduler, request.steps, request.strength).timesteps.length + hires;
  scheduler.setTimesteps(request.steps);
  return scheduler.timesteps.length + hires;
}

/** What the count of a hires fix's second pass depends on. */
type HiresCalls = Pick<ResolvedHires, 'steps' | 'strength'> & Partial<Pick<ResolvedHires, 'sampler' | 'scheduleType'>>;

/**
 * The UNet evaluations of a hires fix's second pass: an img2img pass of its own steps and strength (in A1111 mode
 * with `setup_img2img_steps`' fixed-steps rule, as A1111 passes the hires steps).
 */
export function countHiresCalls(
  request: Pick<ResolvedParameters, 'sampler' | 'kind'> & Partial<Pick<ResolvedParameters, 'compat' | 'scheduleType'>> & { readonly hires: HiresCalls },
  schedulerConfig: SchedulerConfig,
): number {
  const { hires } = request;
  // The second pass's sampler: A1111's "Hires sampler", else the first pass's.
  const hiresSampler = hires.sampler ?? request.sampler;
  const sampler = a1111SamplerOf({ ...request, sampler: hiresSampler });
  if (sampler) {
    // Its schedule type: A1111's "Hires schedule type", else the first pass's.
    const first = { sampler: request.sampler, scheduleType: request.scheduleType ?? 'Automatic', a1111Sampling: true };
    const scheduleType = hires.scheduleType ?? inheritedHiresSchedule(hiresSampler, first);
    const pass = { ...request, scheduleType, kind: 'img2img' as const, steps: hires.steps, strength: hires.strength, fixSteps: true };
    return a1111ModelCalls(sampler, pass, compVisScheduleOf(schedulerConfig));
  }
  const scheduler = createScheduler(request.sampler, schedulerConfig);
  return img2imgTimesteps(scheduler, request.hires.steps, request.hires.strength).timesteps.length;
}
