// GPU workers through BullMQ on Redis (issue 21): jobs per minute with one worker and with two, each a
// `dreamcord worker` process on the tiny model and the CPU, fed at the workers' capacity as the bot's queue feeds
// them; then (issue 17) 4 compatible jobs queued for one worker, handed over one at a time (batching off) against
// as one batch (on). Needs Debian's redis-server (started here on 127.0.0.1). On this 2-core machine the workers
// share the same cores, so the figures show the transport's overhead more than a second GPU's gain.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { RemoteGenerator } from '../src/gpu-workers/remote-generator.js';
import type { GenerationRequest } from '../src/generator/request.js';
import { createLogger } from '../src/log.js';
import { startRedisServer } from '../test/support/redis-server.js';

const JOBS = 16;
const REQUEST: GenerationRequest = {
  kind: 'txt2img',
  prompt: 'a lighthouse at dusk',
  negative: '',
  seed: '1',
  steps: 10,
  cfg: 7,
  sampler: 'euler',
  width: 128,
  height: 128,
  count: 1,
  rng: 'cpu',
  promptSyntax: 'a1111',
};

export async function benchWorkers(): Promise<void> {
  const redis = await startRedisServer();
  const workers: ChildProcess[] = [];
  try {
    for (const count of [1, 2]) {
      while (workers.length < count) workers.push(await startWorker(redis.url, `bench-${workers.length + 1}`));
      const generator = await RemoteGenerator.connect(redis.url, createLogger({ level: 'silent' }));
      await waitFor(() => generator.workers.length === count);
      const started = performance.now();
      await runAll(generator, generator.capacity);
      const seconds = (performance.now() - started) / 1000;
      console.log(`${count} worker(s): ${JOBS} jobs (128², 10 steps) in ${seconds.toFixed(1)} s → ${((JOBS / seconds) * 60).toFixed(0)} jobs/min`);
      if (count === 1) await benchBatching(generator);
      await generator.close();
    }
  } finally {
    for (const worker of workers) worker.kill('SIGKILL');
    await redis.stop();
  }
}

/** Compatible jobs queued together for the batching figure, and how many times they are run in each mode. */
const QUEUED = 4;
const ROUNDS = 3;

/**
 * Jobs per minute for {@link QUEUED} compatible jobs (different prompts and seeds) on one worker: one handover each,
 * one after the other (as the bot's queue runs them with `BATCH_MAX_ROWS=0`), against one handover the worker runs
 * as one UNet batch (2 rows a job); the fastest of {@link ROUNDS} rounds of each, after a warm-up.
 */
async function benchBatching(generator: RemoteGenerator): Promise<void> {
  for (const side of [64, 128]) {
    const jobs = Array.from({ length: QUEUED }, (_, i) => ({ ...REQUEST, width: side, height: side, prompt: `${REQUEST.prompt}, take ${i}`, seed: String(100 + i) }));
    const options = () => ({ signal: new AbortController().signal, onProgress: () => undefined });
    const oneAtATime = async () => {
      for (const request of jobs) await generator.generate(request, options());
    };
    const batched = async () => {
      await Promise.all(generator.generateBatch(jobs.map((request) => ({ request, options: options() })), 2 * QUEUED));
    };
    const [offMs, onMs] = [await fastest(oneAtATime), await fastest(batched)];
    const perMinute = (ms: number) => ((QUEUED / ms) * 60_000).toFixed(0);
    console.log(
      `1 worker, ${QUEUED} compatible jobs queued (${side}², 10 steps): batching off ${perMinute(offMs)} jobs/min, on ${perMinute(onMs)} jobs/min (×${(offMs / onMs).toFixed(2)})`,
    );
  }
}

/** The fastest of {@link ROUNDS} runs of `run`, ms, after one run to warm up. */
async function fastest(run: () => Promise<void>): Promise<number> {
  await run();
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = performance.now();
    await run();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/** Runs {@link JOBS} jobs, `slots` at a time. */
async function runAll(generator: RemoteGenerator, slots: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < JOBS) {
      const seed = String(next++);
      await generator.generate({ ...REQUEST, seed }, { signal: new AbortController().signal, onProgress: () => undefined });
    }
  };
  await Promise.all(Array.from({ length: slots }, lane));
}

async function startWorker(url: string, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'worker'], {
    env: { PATH: process.env['PATH'] ?? '', QUEUE_URL: url, WORKER_NAME: name, MODEL_DIR: 'test/fixtures/tiny-sd', EXECUTION_PROVIDER: 'cpu' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => line.includes('GPU worker ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code}`)));
  });
  return child;
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 100));
}
