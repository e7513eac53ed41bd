import type { SeedMode } from './request.js';
import { createGenerator, type RandomGenerator, type RngSource } from './rng/index.js';

/** Where a batch's noise comes from, per {@link SeedMode}. */
export interface BatchNoise {
  /**
   * Draws noise for the whole batch (`[count, …]`) and the schedulers' per-step noise. In `per-image` mode
   * image `i`'s share of every draw comes from its own generator.
   */
  readonly generator: RandomGenerator;
  /** The seed of each image: all `seed` in `batch` mode, `seed + i` in `per-image` mode. */
  readonly seeds: readonly bigint[];
  /**
   * Draws for a sample that diffusers takes once per input image and repeats for the batch (the VAE encoder's
   * latent sample): 1 in `batch` mode, `count` in `per-image` mode (each image samples its own).
   */
  readonly sharedDraws: number;
}

/**
 * The noise of a batch of `count` images.
 * @param seed - 0 … 2^64−1 − (count − 1).
 */
export function createBatchNoise(seed: bigint, count: number, rng: RngSource, mode: SeedMode): BatchNoise {
  if (mode === 'batch') {
    return { generator: createGenerator(seed, rng), seeds: Array.from({ length: count }, () => seed), sharedDraws: 1 };
  }
  const seeds = Array.from({ length: count }, (_, i) => seed + BigInt(i));
  const generators = seeds.map((s) => createGenerator(s, rng));
  return { generator: new PerImageGenerator(generators), seeds, sharedDraws: count };
}

/**
 * Splits every draw into equal consecutive shares, one per image, each drawn from that image's generator:
 * a `[n, 4, h, w]` draw gives image `i` the next `4·h·w` values of generator `i`, as A1111 draws per image.
 */
class PerImageGenerator implements RandomGenerator {
  constructor(private readonly generators: readonly RandomGenerator[]) {}

  randn(shape: readonly number[]): Float32Array {
    const total = shape.reduce((a, b) => a * b, 1);
    const count = this.generators.length;
    if (total % count !== 0) {
      throw new RangeError(`cannot split a draw of ${total} values between ${count} images`);
    }
    const share = total / count;
    const out = new Float32Array(total);
    this.generators.forEach((generator, i) => out.set(generator.randn([share]), i * share));
    return out;
  }
}
