/** The 32-bit Mersenne Twister (MT19937) exactly as `std::mt19937` and torch's `at::mt19937` define it. */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** A Mersenne Twister engine: {@link Mt19937.nextUint32} yields its stream of 32-bit words. */
export class Mt19937 {
  readonly #state = new Uint32Array(N);
  #index = N;

  /** Seeds the engine with a 32-bit value (torch passes the low 32 bits of its 64-bit seed). */
  constructor(seed: number) {
    const state = this.#state;
    state[0] = seed;
    for (let i = 1; i < N; i++) {
      const previous = state[i - 1] ?? 0;
      state[i] = Math.imul(1812433253, previous ^ (previous >>> 30)) + i;
    }
  }

  /** The next 32-bit output word, as an unsigned integer. */
  nextUint32(): number {
    if (this.#index >= N) this.#twist();
    let y = this.#state[this.#index++] ?? 0;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Regenerates all 624 words of state at once, as the reference implementation does. */
  #twist(): void {
    const state = this.#state;
    for (let i = 0; i < N; i++) {
      const y = ((state[i] ?? 0) & UPPER_MASK) | ((state[(i + 1) % N] ?? 0) & LOWER_MASK);
      state[i] = (state[(i + M) % N] ?? 0) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.#index = 0;
  }
}
