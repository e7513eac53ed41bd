// Times the scheduler math of a 20-step loop over 1×4×64×64 latents (a 512×512 image): `scaleModelInput` and
// `step` per model call, with a fixed fake model output and, for the ancestral samplers, fixed noise, so that
// only the sampler is measured (bench/rng.ts times the noise draws).
import { readFileSync } from 'node:fs';
import { createGenerator, type RandomGenerator } from '../src/pipeline/rng/index.js';
import { createScheduler } from '../src/pipeline/schedulers/index.js';
import type { SchedulerConfig, SchedulerId } from '../src/pipeline/schedulers/index.js';

const SAMPLERS: readonly SchedulerId[] = [
  'euler',
  'euler_a',
  'lms',
  'heun',
  'dpm2',
  'dpm2_a',
  'dpmpp_2m_karras',
  'unipc',
  'ddim',
  'pndm',
];
const LENGTH = 4 * 64 * 64;
const STEPS = 20;
const WARMUP = 3;
const RUNS = 15;

const SD15 = JSON.parse(
  readFileSync(new URL('../test/fixtures/tiny-sd/scheduler/scheduler_config.json', import.meta.url), 'utf8'),
) as SchedulerConfig;

/** Median milliseconds per model call of one sampler's 20-step loop. */
function timeSampler(
  id: SchedulerId,
  modelOutput: Float32Array,
  initial: Float32Array,
  noise: RandomGenerator,
): number {
  const scheduler = createScheduler(id, SD15);
  const sample = new Float32Array(LENGTH);
  const perCall: number[] = [];
  for (let run = 0; run < WARMUP + RUNS; run++) {
    scheduler.setTimesteps(STEPS);
    sample.set(initial);
    const start = performance.now();
    for (const t of scheduler.timesteps) {
      scheduler.scaleModelInput(sample, t);
      scheduler.step(modelOutput, t, sample, noise);
    }
    if (run >= WARMUP) perCall.push((performance.now() - start) / scheduler.timesteps.length);
  }
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(RUNS / 2)] ?? Number.NaN;
}

/** Prints, per sampler, the median scheduler time per model call of a 20-step 1×4×64×64 loop (target < 0.2 ms). */
export async function benchSchedulers(): Promise<void> {
  const generator = createGenerator(0, 'cpu');
  const modelOutput = generator.randn([LENGTH]).map((v) => 0.1 * v);
  const initial = generator.randn([LENGTH]);
  const drawn = generator.randn([LENGTH]);
  const fixedNoise: RandomGenerator = { randn: () => drawn };
  for (const id of SAMPLERS) {
    const ms = timeSampler(id, modelOutput, initial, fixedNoise);
    console.log(`scheduler ${id}: ${ms.toFixed(3)} ms per model call (median of ${RUNS} ${STEPS}-step loops)`);
    // Let the event loop turn between samplers.
    await new Promise((resolve) => setImmediate(resolve));
  }
}
