import { curandNormal } from './curand.js';
import { philox4x32 } from './philox.js';
import { elementCount } from './shape.js';
import type { RandomGenerator } from './types.js';

/** Threads per block of torch's random kernels (`block_size_bound`). */
const BLOCK_SIZE = 256;
/**
 * The most blocks torch launches: multiprocessors × (max threads per multiprocessor / 256). This is an NVIDIA H100
 * (132 × 2048 / 256), where the values were checked against torch. Draws of up to 132 × 2048 = 270,336 values
 * are the same on every GPU large enough to hold them in one pass; larger draws depend on the GPU.
 */
const MAX_BLOCKS = (132 * 2048) / BLOCK_SIZE;
/** Each thread's `curand_normal4` call yields four values, and advances its Philox counter by one. */
const VALUES_PER_CALL = 4;

/**
 * `torch.randn(shape, generator=torch.Generator('cuda').manual_seed(seed), dtype=torch.float32)`, emulated on the
 * CPU (A1111's "GPU" noise): the values agree with CUDA's to a few float32 ulps, and successive calls advance the
 * Philox offset exactly as torch's CUDA generator does.
 *
 * Torch launches `threads` = 256 × min(⌈n/256⌉, MAX_BLOCKS) threads; thread t seeds Philox with key = seed,
 * subsequence t and the generator's offset, then on pass p makes one `curand_normal4` call whose four values go to
 * elements p·4·threads + t + i·threads (i = 0…3) that exist. The generator then advances by the number of passes.
 */
export class TorchCudaGenerator implements RandomGenerator {
  readonly #keyLow: number;
  readonly #keyHigh: number;
  /** Philox counter of the next draw (torch's `philox_offset_per_thread` / 4). */
  #offset = 0;
  readonly #words = new Uint32Array(4);

  /** Seeds as `manual_seed` does: the 64-bit seed is the Philox key. */
  constructor(seed: bigint) {
    this.#keyLow = Number(BigInt.asUintN(32, seed));
    this.#keyHigh = Number(seed >> 32n);
  }

  randn(shape: readonly number[]): Float32Array {
    const count = elementCount(shape);
    const data = new Float32Array(count);
    if (count === 0) return data;
    const threads = BLOCK_SIZE * Math.min(Math.ceil(count / BLOCK_SIZE), MAX_BLOCKS);
    const passes = Math.ceil(count / (threads * VALUES_PER_CALL));
    for (let pass = 0; pass < passes; pass++) {
      const first = pass * threads * VALUES_PER_CALL;
      const active = Math.min(threads, count - first);
      for (let thread = 0; thread < active; thread++) this.#fillFromThread(data, first, thread, threads, pass);
    }
    this.#offset += passes;
    return data;
  }

  /** Thread `thread`'s `curand_normal4` call on pass `pass`, which starts at element `first`. */
  #fillFromThread(data: Float32Array, first: number, thread: number, threads: number, pass: number): void {
    const words = this.#words;
    const counter = this.#offset + pass;
    philox4x32(counter >>> 0, Math.floor(counter / 0x100000000), thread, 0, this.#keyLow, this.#keyHigh, words);
    for (let i = 0; i < VALUES_PER_CALL; i++) {
      const index = first + thread + i * threads;
      if (index >= data.length) return;
      // Values 0 and 1 come from words 0/1, values 2 and 3 from words 2/3, each pair as (s·sin, s·cos).
      const pair = i & 2;
      data[index] = curandNormal(words[pair] ?? 0, words[pair + 1] ?? 0, (i & 1) === 1);
    }
  }
}
