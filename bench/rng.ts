// Times one 1×4×64×64 draw (the latent noise of a 512×512 image) from each noise source.
import { createGenerator } from '../src/pipeline/rng/index.js';
import type { RngSource } from '../src/pipeline/rng/index.js';

const SHAPE = [1, 4, 64, 64];
const WARMUP = 5;
const RUNS = 31;

/** Prints the median time of a 1×4×64×64 `randn` for the `cpu` and `gpu` sources. */
export async function benchRng(): Promise<void> {
  for (const source of ['cpu', 'gpu'] as const satisfies readonly RngSource[]) {
    const generator = createGenerator(42, source);
    for (let i = 0; i < WARMUP; i++) generator.randn(SHAPE);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      generator.randn(SHAPE);
      times.push(performance.now() - start);
      // Let the event loop turn between draws, as it does between the steps of a real generation.
      await new Promise((resolve) => setImmediate(resolve));
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(RUNS / 2)] ?? Number.NaN;
    console.log(`rng ${source}: ${median.toFixed(3)} ms per 1×4×64×64 draw (median of ${RUNS})`);
  }
}
