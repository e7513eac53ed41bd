/**
 * Runs the tasks given for one key one after another, in the order given; tasks of different keys run freely. A
 * record's read-modify-write must not interleave with another of the same record (a late write would undo an
 * earlier one), while writes of different records need not wait for each other.
 */
export class SerialByKey {
  /** Per key, the end of its last task (failures swallowed, the caller has them), while one is in flight. */
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `task` after the earlier tasks of `key`; settles as `task` does. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const done = (this.#tails.get(key) ?? Promise.resolve()).then(task);
    const tail = done.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return done;
  }

  /** Resolves when every task given so far has settled. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values());
  }
}
