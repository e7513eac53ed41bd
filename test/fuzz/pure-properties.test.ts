// The pure-function properties of issue 23, a short seeded run (`npm run fuzz` runs them long).
import { describe, it } from 'node:test';
import { PURE_PROPERTIES } from './pure-properties.js';

/** Fixed, so that a failure in CI is the same failure on a laptop. */
const SEED = 23;
const RUNS = 300;

describe('properties of the parsers hostile text reaches (issue 23)', () => {
  for (const { name, check } of PURE_PROPERTIES) {
    it(name, { timeout: 60_000 }, async () => {
      await check({ seed: SEED, numRuns: RUNS });
    });
  }
});
