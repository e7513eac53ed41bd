// Times the denoising loop of tiny-sd on the CPU provider at 64×64 and 512×512: per step, the UNet's own time
// (session.run) against everything else (tensor conversion, scheduler, guidance), and checks that memory does
// not grow with the step count.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { StableDiffusionPipeline, type GenerateRequest, type GenerationTiming } from '../src/pipeline/index.js';

const MODEL = 'test/fixtures/tiny-sd';
const SAMPLERS = ['dpmpp_2m_karras', 'euler_a'] as const;
const SIZES = [
  { size: 64, steps: 20 },
  { size: 512, steps: 6 },
] as const;
/** Runs per case; the fastest is reported (the others suffer more from whatever else the machine runs). */
const REPEATS = 3;
const MEMORY_STEPS = { early: 10, late: 60 };
/** More live memory than this after 50 more steps would mean something is kept per step. */
const GROWTH_LIMIT_KIB = 256;

/** Prints per-step model and other time for each size and sampler, then the memory check. */
export async function benchPipeline(): Promise<void> {
  const pipeline = await StableDiffusionPipeline.load(MODEL, { provider: 'cpu' });
  try {
    for (const { size, steps } of SIZES) {
      for (const sampler of SAMPLERS) {
        const request: GenerateRequest = { prompt: 'a red fox', seed: 1, width: size, height: size, sampler, steps };
        await pipeline.generate({ ...request, steps: 2 }); // warm-up: first-run allocations and JIT
        const timing = await fastestOf(REPEATS, async () => (await pipeline.generate(request)).timing);
        const model = timing.stepModelMs / timing.steps;
        const other = timing.stepOtherMs / timing.steps;
        const scheduler = timing.stepSchedulerMs / timing.steps;
        const share = ((100 * other) / (model + other)).toFixed(2);
        console.log(
          `${size}×${size} ${sampler.padEnd(15)} ${(model + other).toFixed(2)} ms/step: ` +
            `UNet ${model.toFixed(2)} ms, other ${other.toFixed(3)} ms (${share} %; ` +
            `scheduler and its noise ${scheduler.toFixed(3)} ms, the rest ${(other - scheduler).toFixed(3)} ms) ` +
            `over ${timing.steps} steps`,
        );
      }
    }
    await memoryCheck(pipeline);
  } finally {
    await pipeline.dispose();
  }
}

async function fastestOf(runs: number, run: () => Promise<GenerationTiming>): Promise<GenerationTiming> {
  let best: GenerationTiming | undefined;
  for (let i = 0; i < runs; i++) {
    const timing = await run();
    const perStep = (t: GenerationTiming): number => (t.stepModelMs + t.stepOtherMs) / t.steps;
    if (!best || perStep(timing) < perStep(best)) best = timing;
  }
  if (!best) throw new RangeError('runs must be at least 1');
  return best;
}

/**
 * Live memory (V8 heap + array buffers, after a full GC) at step 10 and at step 60 of one 64×64 generation:
 * buffers are allocated per job, not per step, so the two should match to within noise.
 */
async function memoryCheck(pipeline: StableDiffusionPipeline): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const live = (): number => {
    gc();
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  };
  const samples = new Map<number, number>();
  await pipeline.generate(
    { prompt: 'a red fox in the snow', seed: 1, width: 64, height: 64, sampler: 'euler_a', steps: MEMORY_STEPS.late },
    {
      onProgress: (step) => {
        if (step === MEMORY_STEPS.early || step === MEMORY_STEPS.late) samples.set(step, live());
      },
    },
  );
  const early = samples.get(MEMORY_STEPS.early) ?? Number.NaN;
  const late = samples.get(MEMORY_STEPS.late) ?? Number.NaN;
  const growthKib = (late - early) / 1024;
  console.log(
    `memory (heap + array buffers after GC): ${(early / 2 ** 20).toFixed(2)} MiB at step ${MEMORY_STEPS.early}, ` +
      `${(late / 2 ** 20).toFixed(2)} MiB at step ${MEMORY_STEPS.late} ` +
      `(${growthKib >= 0 ? '+' : ''}${growthKib.toFixed(1)} KiB: ` +
      `${growthKib < GROWTH_LIMIT_KIB ? 'no growth with the step count' : 'GROWS with the step count'})`,
  );
}
