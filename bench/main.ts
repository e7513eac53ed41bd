// `npm run bench`: every benchmark in turn, each printing its figures. Benchmarks measure; they never fail on a
// time (speed targets are read from these figures, not asserted in tests).
import { benchRng } from './rng.js';

const benches: [title: string, run: () => Promise<void>][] = [['random numbers', benchRng]];

for (const [title, run] of benches) {
  console.log(`\n## ${title}`);
  await run();
}
