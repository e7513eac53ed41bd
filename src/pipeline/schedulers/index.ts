/**
 * The samplers: one diffusers scheduler class per file, created by id for a model's scheduler config, plus the
 * A1111 sampler names users type and the img2img schedule.
 */
export { createScheduler } from './create-scheduler.js';
export { img2imgTimesteps, type Img2ImgTimesteps } from './img2img.js';
export { parseSamplerName, samplerLabel, SAMPLER_CHOICES, suggestSamplers, type SamplerLabel } from './names.js';
export {
  A1111_ONLY_SAMPLERS,
  isDiffusersSampler,
  SCHEDULER_IDS,
  type DiffusersSamplerId,
  type Scheduler,
  type SchedulerConfig,
  type SchedulerId,
} from './types.js';
