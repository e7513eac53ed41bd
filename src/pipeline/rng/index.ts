/**
 * Seeded Gaussian noise that reproduces `torch.randn`: the CPU generator bit for bit, the CUDA generator (emulated
 * on the CPU) to float rounding. Same seed and source, same noise, on any machine.
 */
import { toSeed } from './seed.js';
import { TorchCpuGenerator } from './torch-cpu-generator.js';
import { TorchCudaGenerator } from './torch-cuda-generator.js';
import type { RandomGenerator, RngSource } from './types.js';

export type { RandomGenerator, RngSource } from './types.js';
export { MAX_RANDOM_SEED, MAX_SEED, randomSeed } from './seed.js';

/**
 * A generator seeded like `torch.Generator(device).manual_seed(seed)`: `cpu` for torch's CPU generator, `gpu` for
 * its CUDA generator (A1111's default "GPU" source).
 * @throws {PipelineError} `INVALID_REQUEST` when `seed` is not an integer 0 … 2^64−1.
 * @throws {RangeError} when `source` is not `cpu` or `gpu`.
 */
export function createGenerator(seed: number | bigint, source: RngSource): RandomGenerator {
  const value = toSeed(seed);
  switch (source) {
    case 'cpu':
      return new TorchCpuGenerator(value);
    case 'gpu':
      return new TorchCudaGenerator(value);
    default:
      throw new RangeError(`Expected \`source\` to be 'cpu' or 'gpu', got ${String(source)}`);
  }
}
