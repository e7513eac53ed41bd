// `npm run bench`: every benchmark in turn, each printing its figures. Benchmarks measure; they never fail on a
// time (speed targets are read from these figures, not asserted in tests). `npm run bench -- convert` (or any
// titles) runs only those; the checkpoint conversion, which writes 4 GB to bench-out/, the GPU run of both graph
// forms (`gpu`, see gpu.ts) and the GPU workers through Redis (`workers`, which needs redis-server) run only when named.
import { benchActions } from './actions.js';
import { benchBatching } from './batching.js';
import { benchConvert } from './convert.js';
import { benchEta } from './eta.js';
import { benchGpu } from './gpu.js';
import { gpuChild } from './gpu-child.js';
import { benchLora } from './lora.js';
import { benchModels } from './models.js';
import { benchNsfw } from './nsfw.js';
import { benchPipeline } from './pipeline.js';
import { benchQueue } from './queue.js';
import { benchRng } from './rng.js';
import { benchSchedulers } from './schedulers.js';
import { benchStartup } from './startup.js';
import { benchTokenizer } from './tokenizer.js';
import { benchWorkers } from './workers.js';

const benches: [title: string, run: () => Promise<void>][] = [
  ['tokenizer', benchTokenizer],
  ['random numbers', benchRng],
  ['schedulers', benchSchedulers],
  ['pipeline', benchPipeline],
  ['batching', benchBatching],
  ['actions', benchActions],
  ['job queue', benchQueue],
  ['eta', benchEta],
  ['nsfw', benchNsfw],
  ['lora', benchLora],
  ['models', benchModels],
  ['startup', benchStartup],
];
const onRequest: [title: string, run: () => Promise<void>][] = [
  ['convert', benchConvert],
  ['gpu', benchGpu],
  ['workers', benchWorkers],
];

// bench/gpu.ts runs each graph form in a child process of this same script.
if (process.argv[2] === 'gpu-child') {
  const [mode = '', dir = '', provider = '', outDir = ''] = process.argv.slice(3);
  await gpuChild(mode, dir, provider, outDir);
  process.exit(0);
}

// `npm run bench -- --gpu` and `npm run bench -- gpu` both name the GPU run (`--model PATH` after it: see gpu.ts).
const asked = process.argv.slice(2).map((title) => title.replace(/^--/, ''));
const chosen = asked.length === 0 ? benches : [...benches, ...onRequest].filter(([title]) => asked.includes(title));
for (const [title, run] of chosen) {
  console.log(`\n## ${title}`);
  await run();
}
