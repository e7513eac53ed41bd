// A1111's `rng.ImageRNG` (modules/rng.py, v1.10.1): one generator per picture, seeded with its own seed, so each
// picture of a batch can be remade alone. Its first draw is the initial noise; every later `randn_like` of a
// sampler takes the next draw of each picture's generator. With an eta noise seed delta (ENSD) the generators are
// re-seeded with `seed + ENSD` after the first draw.
import { createGenerator, type RandomGenerator, type RngSource } from '../rng/index.js';

export class ImageNoise {
  readonly #seeds: readonly bigint[];
  readonly #source: RngSource;
  readonly #shape: readonly number[];
  readonly #ensd: bigint;
  #generators: RandomGenerator[];
  #first = true;

  /**
   * @param shape - one picture's latent shape `[4, h, w]`.
   * @param ensd - A1111's `eta_noise_seed_delta` (0: none).
   */
  constructor(seeds: readonly bigint[], source: RngSource, shape: readonly number[], ensd: bigint) {
    this.#seeds = seeds;
    this.#source = source;
    this.#shape = shape;
    this.#ensd = ensd;
    this.#generators = seeds.map((seed) => createGenerator(seed, source));
  }

  /** The next draw of every picture's generator, stacked: `[count, 4, h, w]`. */
  next(): Float32Array {
    const size = this.#shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(size * this.#generators.length);
    this.#generators.forEach((generator, i) => out.set(generator.randn(this.#shape), i * size));
    if (this.#first && this.#ensd !== 0n) {
      this.#generators = this.#seeds.map((seed) => createGenerator(seed + this.#ensd, this.#source));
    }
    this.#first = false;
    return out;
  }
}
