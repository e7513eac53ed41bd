/**
 * The last few tensors a multistep sampler remembers (diffusers' `model_outputs` / PNDM's `ets` lists), as a ring
 * of buffers allocated once per size: pushing reuses the oldest buffer instead of allocating.
 */
export class TensorHistory {
  readonly #capacity: number;
  #buffers: Float32Array[] = [];
  /** Index in `#buffers` of the newest tensor. */
  #newest = -1;
  #count = 0;

  /** @param capacity - how many tensors to keep (the solver order); at least 1. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Expected a history capacity that is an integer from 1 and up, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  /** How many tensors are held: the pushes since the last `clear`, at most the capacity. */
  get count(): number {
    return this.#count;
  }

  /** Forgets every tensor (the buffers stay allocated). */
  clear(): void {
    this.#newest = -1;
    this.#count = 0;
  }

  /**
   * Makes room for a new newest tensor of `length` elements and returns its buffer for the caller to fill;
   * the oldest tensor is dropped when the history is full.
   */
  push(length: number): Float32Array {
    if (this.#buffers[0]?.length !== length) {
      this.#buffers = Array.from({ length: this.#capacity }, () => new Float32Array(length));
      this.clear();
    }
    this.#newest = (this.#newest + 1) % this.#capacity;
    this.#count = Math.min(this.#count + 1, this.#capacity);
    return this.at(0);
  }

  /** The tensor pushed `age` pushes ago (0 = newest); throws if it is not held. */
  at(age: number): Float32Array {
    const buffer =
      Number.isInteger(age) && age >= 0 && age < this.#count
        ? this.#buffers[(this.#newest - age + this.#capacity) % this.#capacity]
        : undefined;
    if (buffer === undefined) throw new RangeError(`Expected a history age in 0–${this.#count - 1}, got ${age}`);
    return buffer;
  }
}
