import type { FakeClock } from './clock.js';

/** Discord's epoch (2015-01-01), the zero of every snowflake's timestamp. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/**
 * Makes unique, increasing snowflake ids from the fake clock. discord.js derives creation times from them, so
 * they carry the real (fake) time in their top bits, and today's times give the 19 digits real ids have.
 */
export class Snowflakes {
  readonly #clock: FakeClock;
  #last = 0n;

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  /** The next id. */
  next(): string {
    let id = (BigInt(this.#clock.now()) - DISCORD_EPOCH_MS) << 22n;
    if (id <= this.#last) id = this.#last + 1n;
    this.#last = id;
    return id.toString();
  }
}
