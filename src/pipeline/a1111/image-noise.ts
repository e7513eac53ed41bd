// A1111's `rng.ImageRNG` (modules/rng.py, v1.10.1): one generator per picture, seeded with its own seed, so each
// picture of a batch can be remade alone. Its first draw is the initial noise; every later `randn_like` of a
// sampler takes the next draw of each picture's generator. With an eta noise seed delta (ENSD) the generators are
// re-seeded with `seed + ENSD` after the first draw.
import { createGenerator, type RandomGenerator, type RngSource } from '../rng/index.js';

/** A1111's variation seeds: picture i's first draw moves towards `seeds[i]`'s noise by `strength` (slerp). */
export interface Variation {
  readonly seeds: readonly bigint[];
  readonly strength: number;
}

export class ImageNoise {
  readonly #seeds: readonly bigint[];
  readonly #source: RngSource;
  readonly #shape: readonly number[];
  readonly #ensd: bigint;
  readonly #variation: Variation | undefined;
  #generators: RandomGenerator[];
  #first = true;

  /**
   * @param shape - one picture's latent shape `[4, h, w]`.
   * @param ensd - A1111's `eta_noise_seed_delta` (0: none).
   */
  constructor(seeds: readonly bigint[], source: RngSource, shape: readonly number[], ensd: bigint, variation?: Variation) {
    this.#seeds = seeds;
    this.#source = source;
    this.#shape = shape;
    this.#ensd = ensd;
    this.#variation = variation?.strength ? variation : undefined;
    this.#generators = seeds.map((seed) => createGenerator(seed, source));
  }

  /** The next draw of every picture's generator, stacked: `[count, 4, h, w]`. */
  next(): Float32Array {
    const size = this.#shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(size * this.#generators.length);
    this.#generators.forEach((generator, i) => {
      const noise = generator.randn(this.#shape);
      const variation = this.#first ? this.#variation : undefined;
      const seed = variation?.seeds[i];
      out.set(variation && seed !== undefined ? slerp(variation.strength, noise, this.#variationNoise(seed), this.#shape) : noise, i * size);
    });
    if (this.#first && this.#ensd !== 0n) {
      this.#generators = this.#seeds.map((seed) => createGenerator(seed + this.#ensd, this.#source));
    }
    this.#first = false;
    return out;
  }

  /** `rng.randn(subseed, shape)`: the first draw of a generator seeded with the variation seed. */
  #variationNoise(seed: bigint): Float32Array {
    return createGenerator(seed, this.#source).randn(this.#shape);
  }
}

/**
 * A1111's `rng.slerp(val, low, high)` on one picture's `[C, H, W]` noise. It normalizes along dim 1 (H), so each
 * (channel, column) pair is interpolated on its own; nearly parallel noise (mean cosine > 0.9995) takes A1111's
 * linear branch, `low·val + high·(1 − val)`, as written there.
 */
export function slerp(strength: number, low: Float32Array, high: Float32Array, shape: readonly number[]): Float32Array {
  const [channels = 0, height = 0, width = 0] = shape;
  const out = new Float32Array(low.length);
  const at = (c: number, h: number, w: number): number => (c * height + h) * width + w;
  const dots: number[] = [];
  const columns: { c: number; w: number; lowNorm: number; highNorm: number }[] = [];
  for (let c = 0; c < channels; c++) {
    for (let w = 0; w < width; w++) {
      let lowSq = 0;
      let highSq = 0;
      for (let h = 0; h < height; h++) {
        lowSq += (low[at(c, h, w)] ?? 0) ** 2;
        highSq += (high[at(c, h, w)] ?? 0) ** 2;
      }
      const lowNorm = Math.sqrt(lowSq);
      const highNorm = Math.sqrt(highSq);
      let dot = 0;
      for (let h = 0; h < height; h++) dot += ((low[at(c, h, w)] ?? 0) / lowNorm) * ((high[at(c, h, w)] ?? 0) / highNorm);
      dots.push(dot);
      columns.push({ c, w, lowNorm, highNorm });
    }
  }
  if (dots.reduce((a, b) => a + b, 0) / dots.length > 0.9995) {
    return low.map((v, i) => v * strength + (high[i] ?? 0) * (1 - strength));
  }
  columns.forEach(({ c, w }, k) => {
    const omega = Math.acos(dots[k] ?? 0);
    const so = Math.sin(omega);
    const a = Math.sin((1 - strength) * omega) / so;
    const b = Math.sin(strength * omega) / so;
    for (let h = 0; h < height; h++) out[at(c, h, w)] = a * (low[at(c, h, w)] ?? 0) + b * (high[at(c, h, w)] ?? 0);
  });
  return out;
}
