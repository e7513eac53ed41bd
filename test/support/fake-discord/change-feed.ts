/**
 * How often a pending wait re-checks on its own: probes may read state outside the fake (what the bot recorded),
 * which changes without telling the fake.
 */
const RECHECK_MS = 10;

/**
 * Lets tests wait for a condition. Everything that changes the fake's state (a request answered, an event
 * dispatched, a test action) calls `notify()`, and every pending wait re-checks its probe at once.
 */
export class ChangeFeed {
  readonly #waiters = new Set<() => void>();
  #scheduled = false;

  /**
   * Tells every pending wait to look again, once the current work is done: a change made while answering a request
   * is seen together with the recorded answer, not half-way through.
   */
  notify(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      for (const check of [...this.#waiters]) check();
    });
  }

  /**
   * Resolves with the first value `probe` returns that is not `undefined`, checking now and after every change.
   * Rejects after `timeoutMs` with an error that says what was awaited (`describe` is called only then).
   */
  until<T>(probe: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        clearInterval(recheck);
        this.#waiters.delete(check);
      };
      const check = (): void => {
        try {
          const value = probe();
          if (value === undefined) return;
          finish();
          resolve(value);
        } catch (error) {
          finish();
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${describe()}`));
      }, timeoutMs);
      const recheck = setInterval(check, RECHECK_MS);
      this.#waiters.add(check);
      check();
    });
  }
}
