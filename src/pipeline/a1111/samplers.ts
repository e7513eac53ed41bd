// Which sampler A1111 mode runs for a sampler id: one of k-diffusion's (over sigmas) or one of A1111's own over
// UNet timesteps; ids with neither run as diffusers' schedulers.
import { parseSamplerName, samplerLabel, type SchedulerId } from '../schedulers/index.js';
import { kSamplerFor, type KSampler } from './k-samplers.js';
import { parseScheduleType, type ScheduleType } from './schedule-types.js';
import { timestepSamplerFor, type TimestepSampler } from './timestep-samplers.js';

/** An A1111 sampler of either family (`family` tells which). */
export type A1111Sampler = KSampler | TimestepSampler;

/** The A1111 sampler of a sampler id, or undefined when A1111 mode runs that sampler as diffusers does. */
export function a1111SamplerFor(id: SchedulerId): A1111Sampler | undefined {
  return kSamplerFor(id) ?? timestepSamplerFor(id);
}

/**
 * The A1111 sampler that runs `request`: in A1111 mode (txt2img with its hires fix, img2img, inpainting), when its
 * sampler has a port; otherwise undefined (diffusers' scheduler runs it).
 */
export function a1111SamplerOf(request: {
  readonly compat?: 'diffusers' | 'a1111' | undefined;
  readonly kind: 'txt2img' | 'img2img' | 'inpaint';
  readonly sampler: SchedulerId;
}): A1111Sampler | undefined {
  if (request.compat !== 'a1111') return undefined;
  return a1111SamplerFor(request.sampler);
}

/** The denoiser calls that prompt-editing schedules count: twice the steps for second-order samplers. */
export function scheduledCalls(sampler: A1111Sampler, steps: number): number {
  return steps * (sampler.family === 'k-diffusion' && sampler.secondOrder ? 2 : 1);
}

/**
 * A sampler id that names its schedule ("DPM++ 2M Karras"), read as A1111's `get_sampler_and_scheduler` reads such a
 * name: A1111's sampler and that schedule (the name's schedule wins over a `Schedule type` beside it). Undefined for
 * other ids and for ids without an A1111 port.
 */
export function namedSchedule(id: SchedulerId): { id: SchedulerId; scheduleType: ScheduleType } | undefined {
  const label = samplerLabel(id);
  if (label.schedule === null || !a1111SamplerFor(id)) return undefined;
  return { id: parseSamplerName(label.sampler), scheduleType: parseScheduleType(label.schedule) };
}
