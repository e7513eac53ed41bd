import { randomInt } from 'node:crypto';
import { PipelineError } from '../errors.js';

/** The largest seed torch accepts: seeds are unsigned 64-bit integers. */
export const MAX_SEED = 2n ** 64n - 1n;

/** The largest seed {@link randomSeed} makes: A1111's range, so a seed can be typed into other tools too. */
export const MAX_RANDOM_SEED = 2n ** 32n - 1n;

/**
 * A fresh random seed, 0 … {@link MAX_RANDOM_SEED} inclusive: the one seed maker of dreamcord.
 * @param pick - an integer in [min, max) (max exclusive, as `crypto.randomInt`); replaceable to test the bounds.
 */
export function randomSeed(pick: (min: number, max: number) => number = randomInt): bigint {
  return BigInt(pick(0, Number(MAX_RANDOM_SEED) + 1));
}

/**
 * Checks that `seed` is an integer 0 … 2^64−1 and returns it as a bigint. Numbers above 2^53 are accepted as the
 * integers they hold; pass a bigint to reach every seed exactly.
 * @throws {PipelineError} `INVALID_REQUEST` (field `seed`) for negatives, fractions, NaN, infinities and values
 *   above 2^64−1.
 */
export function toSeed(seed: number | bigint): bigint {
  const value = asInteger(seed);
  if (value === undefined || value < 0n || value > MAX_SEED) {
    // An integral number prints through its bigint, so 2^64 shows all its digits rather than 18446744073709552000.
    const shown = value === undefined ? String(seed) : String(value);
    throw new PipelineError('INVALID_REQUEST', `Expected \`seed\` to be an integer 0–${MAX_SEED}, got ${shown}`, {
      field: 'seed',
    });
  }
  return value;
}

/** `seed` as a bigint, or undefined when it is not an integer at all (JavaScript callers may pass anything). */
function asInteger(seed: unknown): bigint | undefined {
  if (typeof seed === 'bigint') return seed;
  if (typeof seed === 'number' && Number.isInteger(seed)) return BigInt(seed);
  return undefined;
}
