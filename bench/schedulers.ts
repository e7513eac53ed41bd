// Times the scheduler math of a 20-step loop over 1×4×64×64 latents (a 512×512 image): `scaleModelInput` and
// `step` per model call, with a fixed fake model output and, for the ancestral samplers, fixed noise, so that
// only the sampler is measured (bench/rng.ts times the noise draws). Then the rest of the denoising loop's own
// work per step around the UNet run of the same image with classifier-free guidance (batch 2, fp16 graph): the
// sample's conversion to fp16, and the prediction's back to float32 with the guidance combine (one pass). Issue 17's target is
// the loop's own time per step (all of these) ≤ ~0.15 ms on the GPU host. Times are the process's CPU time, so that
// other work on a shared machine does not count (on an idle machine they read as wall time).
import { readFileSync } from 'node:fs';
import { guideOutput } from '../src/pipeline/guidance.js';
import { float32ToFloat16 } from '../src/pipeline/runtime/float16.js';
import { FloatInput } from '../src/pipeline/runtime/tensor.js';
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

/** Milliseconds of CPU time this process has used (user and system). */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

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
    const start = cpuMs();
    for (const t of scheduler.timesteps) {
      scheduler.scaleModelInput(sample, t);
      scheduler.step(modelOutput, t, sample, noise);
    }
    if (run >= WARMUP) perCall.push((cpuMs() - start) / scheduler.timesteps.length);
  }
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(RUNS / 2)] ?? Number.NaN;
}

/** Median milliseconds of one call of `work`, over `RUNS` batches of 50 calls after a warm-up. */
function timeWork(work: () => void): number {
  for (let i = 0; i < 50 * WARMUP; i++) work();
  const perCall: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = cpuMs();
    for (let i = 0; i < 50; i++) work();
    perCall.push((cpuMs() - start) / 50);
  }
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(RUNS / 2)] ?? Number.NaN;
}

/** Prints the loop's own per-step work besides the scheduler, for one 512×512 image with guidance (UNet batch 2). */
function benchLoopWork(latents: Float32Array, prediction: Float32Array): void {
  const dims = [2, 4, 64, 64];
  const input = new FloatInput('float16', dims, 2);
  const encode = timeWork(() => {
    input.values.set(latents);
    input.tensor();
  });
  const output = { type: 'float16', data: float32ToFloat16(prediction), dims } as const;
  const guided = new Float32Array(prediction.length / 2);
  const guide = timeWork(() => guideOutput(output, 7.5, guided));
  const line = (what: string, ms: number) => console.log(`loop ${what}: ${ms.toFixed(3)} ms per step (median of ${RUNS}×50)`);
  line('sample 1×4×64×64 → fp16 input 2×4×64×64', encode);
  line('fp16 prediction 2×4×64×64 → guided float32 1×4×64×64', guide);
}

/** Prints, per sampler, the median scheduler time per model call of a 20-step 1×4×64×64 loop. */
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
  benchLoopWork(initial, Float32Array.from([...modelOutput, ...drawn]));
}
