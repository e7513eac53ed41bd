// `npm run bench`: every benchmark in turn, each printing its figures. Benchmarks measure; they never fail on a
// time (speed targets are read from these figures, not asserted in tests).
import { benchPipeline } from './pipeline.js';
import { benchQueue } from './queue.js';
import { benchRng } from './rng.js';
import { benchSchedulers } from './schedulers.js';
import { benchTokenizer } from './tokenizer.js';

const benches: [title: string, run: () => Promise<void>][] = [
  ['tokenizer', benchTokenizer],
  ['random numbers', benchRng],
  ['schedulers', benchSchedulers],
  ['pipeline', benchPipeline],
  ['job queue', benchQueue],
];

for (const [title, run] of benches) {
  console.log(`\n## ${title}`);
  await run();
}
