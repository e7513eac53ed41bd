// A1111's "Restart" sampler (modules/sd_samplers_extra.py `restart_sampler`, v1.10.1; Restart Sampling, Xu et al.
// 2023): Heun steps down a Karras schedule that, from 20 steps on, goes back up from σ ≈ 0.1 to σ ≈ 2 once (twice
// from 36 steps) with fresh noise from the image's generator, and down again.
import { heunStep, type Sample } from './k-steps.js';
import { karrasSigmas } from './schedule-types.js';

const f32 = Math.fround;

/** A step of the walk, from one noise level to the next (upwards where a restart begins). */
type Step = readonly [from: number, to: number];

/** `int(torch.argmin(abs(sigmas − value)))`: the first index nearest `value`. */
function nearest(sigmas: Float64Array, value: number): number {
  let best = 0;
  sigmas.forEach((sigma, i) => {
    if (Math.abs(f32(sigma - value)) < Math.abs(f32((sigmas[best] ?? NaN) - value))) best = i;
  });
  return best;
}

/** Consecutive pairs of `levels`. */
const pairs = (levels: ArrayLike<number>): Step[] =>
  Array.from({ length: levels.length - 1 }, (_, i) => [levels[i] ?? NaN, levels[i + 1] ?? NaN] as const);

/**
 * The steps `restart_sampler` walks for `sigmas` with its automatic `restart_list`: below 20 steps the schedule
 * itself; from 20 a Karras schedule of `steps − restart_steps · restart_times` levels between the schedule's ends,
 * and after the level nearest 0.1 the restart segment (a Karras schedule of `restart_steps + 1` levels from there
 * up to the level nearest 2, without its 0) walked `restart_times` times.
 */
export function restartSteps(sigmas: Float64Array): Step[] {
  const steps = sigmas.length - 1;
  if (steps < 20) return pairs(sigmas);
  const restartSteps = steps >= 36 ? Math.floor(steps / 4) : 9;
  const restartTimes = steps >= 36 ? 2 : 1;
  const levels = karrasSigmas(steps - restartSteps * restartTimes, sigmas[sigmas.length - 2] ?? NaN, sigmas[0] ?? NaN);
  const restartAt = nearest(levels, 0.1);
  const top = nearest(levels, 2);
  const out: Step[] = [];
  for (let i = 0; i < levels.length - 1; i++) {
    out.push([levels[i] ?? NaN, levels[i + 1] ?? NaN]);
    if (i + 1 !== restartAt || top >= restartAt) continue;
    const segment = karrasSigmas(restartSteps + 1, levels[restartAt] ?? NaN, levels[top] ?? NaN).slice(0, -1);
    for (let time = 0; time < restartTimes; time++) out.push(...pairs(segment));
  }
  return out;
}

/** The denoiser calls of Restart over `sigmas`: two per Heun step, one where a step ends at 0. */
export function restartModelCalls(sigmas: Float64Array): number {
  return restartSteps(sigmas).reduce((calls, [, to]) => calls + (to === 0 ? 1 : 2), 0);
}

/** `restart_sampler`: where a step starts above the last one's end, noise `√(from² − last²)` is added first. */
export const sampleRestart: Sample = async (model, x, sigmas, noise) => {
  let last: number | undefined;
  for (const [from, to] of restartSteps(sigmas)) {
    if (last !== undefined && last < from) {
      const scale = f32(Math.sqrt(f32(f32(from * from) - f32(last * last))));
      const drawn = noise();
      for (let i = 0; i < x.length; i++) x[i] = f32((x[i] ?? 0) + f32((drawn[i] ?? 0) * scale));
    }
    await heunStep(model, x, from, to);
    last = to;
  }
  return x;
};
