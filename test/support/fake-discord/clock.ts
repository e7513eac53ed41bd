/**
 * The fake's sense of time: real time plus an offset that tests push forward, so Discord's deadlines (3 s to
 * acknowledge, 15-minute tokens) can pass without the test waiting for them.
 */
export class FakeClock {
  #offsetMs = 0;

  /** Milliseconds since the Unix epoch, as the fake sees them. */
  now(): number {
    return Date.now() + this.#offsetMs;
  }

  /** Moves the fake's time forward by `ms` (≥ 0); time never runs backwards, or snowflakes would repeat. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`Expected \`ms\` to be a number from 0 and up, got ${String(ms)}`);
    this.#offsetMs += ms;
  }

  /** An ISO-8601 timestamp, as Discord writes them. */
  iso(ms: number = this.now()): string {
    return new Date(ms).toISOString();
  }
}
