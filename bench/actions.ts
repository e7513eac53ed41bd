// The CPU time of each result action on tiny-sd, as the bot runs it (a 64×64 picture, 8 steps): the first pass
// alone, and the hires fix (`/imagine upscale`, ⬆️ Upscale) with each upscaler at 2×.
import { StableDiffusionPipeline, type GenerateRequest } from '../src/pipeline/index.js';

const MODEL = 'test/fixtures/tiny-sd';
/** Runs per case; the fastest is reported (the others suffer more from whatever else the machine runs). */
const REPEATS = 3;
const BASE: GenerateRequest = { prompt: 'a lighthouse at dusk', seed: 1, width: 64, height: 64, steps: 8, sampler: 'dpmpp_2m_karras' };

const CASES: [name: string, request: GenerateRequest][] = [
  ['txt2img 64×64 (the first pass)', BASE],
  ['upscale 2× Latent', { ...BASE, hires: { scale: 2, upscaler: 'latent' } }],
  ['upscale 2× Latent (nearest)', { ...BASE, hires: { scale: 2, upscaler: 'latent-nearest' } }],
  ['upscale 2× Lanczos', { ...BASE, hires: { scale: 2, upscaler: 'lanczos' } }],
];

/** Prints the fastest total time of each action. */
export async function benchActions(): Promise<void> {
  const pipeline = await StableDiffusionPipeline.load(MODEL, { provider: 'cpu' });
  try {
    await pipeline.generate({ ...BASE, steps: 2 }); // warm-up: first-run allocations and JIT
    for (const [name, request] of CASES) {
      let best = Number.POSITIVE_INFINITY;
      let calls = 0;
      for (let i = 0; i < REPEATS; i++) {
        const { timing } = await pipeline.generate(request);
        best = Math.min(best, timing.totalMs);
        calls = timing.steps;
      }
      console.log(`${name.padEnd(32)} ${best.toFixed(1)} ms (${calls} model calls)`);
    }
  } finally {
    await pipeline.dispose();
  }
}
