import type { Scheduler } from './types.js';

/** The part of a schedule that img2img and inpainting run. */
export interface Img2ImgTimesteps {
  /** The timesteps left to evaluate, one per model call. */
  readonly timesteps: Float64Array;
  /** The first of them: the level to noise the init image's latents to (`addNoise`). */
  readonly firstTimestep: number;
}

/**
 * Sets `scheduler` to `steps` steps and skips the first ones so that only the last ⌊steps·strength⌋ denoise
 * (diffusers' img2img `get_timesteps`): starting at model call t_start·order, t_start = steps − ⌊steps·strength⌋,
 * which it also tells the scheduler (`setBeginIndex`).
 *
 * @param strength - how much of the init image to replace, 0–1 (1: start from pure noise level).
 * @throws {RangeError} when `strength` is outside 0–1 or leaves no step (steps·strength < 1).
 */
export function img2imgTimesteps(scheduler: Scheduler, steps: number, strength: number): Img2ImgTimesteps {
  if (!(strength >= 0 && strength <= 1)) {
    throw new RangeError(`Expected \`strength\` 0–1, got ${strength}`);
  }
  scheduler.setTimesteps(steps);
  const initSteps = Math.min(Math.trunc(steps * strength), steps);
  const begin = (steps - initSteps) * scheduler.order;
  const firstTimestep = scheduler.timesteps[begin];
  if (initSteps === 0 || firstTimestep === undefined) {
    throw new RangeError(
      `Expected \`strength\` × \`steps\` to leave at least one step, got ${strength} × ${steps} (raise either)`,
    );
  }
  scheduler.setBeginIndex(begin);
  return { timesteps: scheduler.timesteps.slice(begin), firstTimestep };
}
