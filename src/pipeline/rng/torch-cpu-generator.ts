import { logAvx, sinCosAvx } from './avx-mathfun.js';
import { Mt19937 } from './mt19937.js';
import { elementCount } from './shape.js';
import type { RandomGenerator } from './types.js';

const f32 = Math.fround;
/** `2.0f * c10::pi<double>` stored as float32, as torch broadcasts it. */
const TWO_PI = f32(2 * Math.PI);
/** Torch vectorises Box–Muller over blocks of 16 values: 8 radii and 8 angles. */
const BLOCK = 16;
const HALF_BLOCK = BLOCK / 2;

/**
 * `torch.randn(shape, generator=torch.Generator('cpu').manual_seed(seed), dtype=torch.float32)` on an x86-64 CPU
 * with AVX2, bit for bit, including the generator state carried between calls.
 */
export class TorchCpuGenerator implements RandomGenerator {
  readonly #engine: Mt19937;
  /** The sine half of the last scalar Box–Muller pair, which torch's generator keeps for its next scalar draw. */
  #cachedNormal: number | undefined;
  readonly #sinCos = new Float32Array(2);

  /** Seeds as `manual_seed` does: the Mersenne Twister takes the low 32 bits of the 64-bit seed. */
  constructor(seed: bigint) {
    this.#engine = new Mt19937(Number(BigInt.asUintN(32, seed)));
  }

  randn(shape: readonly number[]): Float32Array {
    const count = elementCount(shape);
    return count >= BLOCK ? this.#blockNormals(count) : this.#scalarNormals(count);
  }

  /**
   * Torch's `normal_fill_AVX2`: fill with float32 uniforms, turn each block of 16 into normals, and when the count
   * is not a multiple of 16, draw 16 fresh uniforms for the last 16 slots and transform those again.
   */
  #blockNormals(count: number): Float32Array {
    const data = new Float32Array(count);
    this.#fillUniform(data, 0, count);
    for (let start = 0; start + BLOCK <= count; start += BLOCK) this.#boxMuller16(data, start);
    if (count % BLOCK !== 0) {
      this.#fillUniform(data, count - BLOCK, count);
      this.#boxMuller16(data, count - BLOCK);
    }
    return data;
  }

  /** `at::uniform_real_distribution<float>(0, 1)`: the low 24 bits of one 32-bit word, scaled by 2^-24. */
  #fillUniform(data: Float32Array, start: number, end: number): void {
    for (let i = start; i < end; i++) data[i] = (this.#engine.nextUint32() & 0xffffff) / 0x1000000;
  }

  /** `normal_fill_16_AVX2` with mean 0 and std 1: the first 8 uniforms give radii, the last 8 angles. */
  #boxMuller16(data: Float32Array, start: number): void {
    const sinCos = this.#sinCos;
    for (let j = start; j < start + HALF_BLOCK; j++) {
      const radius = f32(Math.sqrt(-2 * logAvx(f32(1 - (data[j] ?? 0)))));
      sinCosAvx(f32(TWO_PI * (data[j + HALF_BLOCK] ?? 0)), sinCos);
      // Torch stores fma(normal, std = 1, mean = 0), which also turns −0 into +0.
      data[j] = f32(radius * (sinCos[1] ?? 0)) + 0;
      data[j + HALF_BLOCK] = f32(radius * (sinCos[0] ?? 0)) + 0;
    }
  }

  /**
   * Under 16 elements torch draws each value from `at::normal_distribution<double>`: float64 Box–Muller on two
   * 53-bit uniforms, returning the cosine half now and the sine half on the next such draw.
   */
  #scalarNormals(count: number): Float32Array {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const cached = this.#cachedNormal;
      if (cached !== undefined) {
        this.#cachedNormal = undefined;
        data[i] = cached;
        continue;
      }
      const u1 = this.#uniform53();
      const u2 = this.#uniform53();
      const radius = Math.sqrt(-2 * Math.log1p(-u2));
      const theta = 2 * Math.PI * u1;
      this.#cachedNormal = radius * Math.sin(theta);
      data[i] = radius * Math.cos(theta);
    }
    return data;
  }

  /** `at::uniform_real_distribution<double>(0, 1)`: the low 53 bits of two words (first word high), scaled by 2^-53. */
  #uniform53(): number {
    const high = this.#engine.nextUint32() & 0x1fffff;
    const low = this.#engine.nextUint32();
    return (high * 0x100000000 + low) / 2 ** 53;
  }
}
