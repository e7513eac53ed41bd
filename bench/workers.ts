// GPU workers through BullMQ on Redis (issue 21): jobs per minute with one worker and with two, each a
// `dreamcord worker` process on the tiny model and the CPU, fed at the workers' capacity as the bot's queue feeds
// them. Needs Debian's redis-server (started here on 127.0.0.1). On this 2-core machine the workers share the same
// cores, so the figure shows the transport's overhead more than a second GPU's gain.
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
      await generator.close();
    }
  } finally {
    for (const worker of workers) worker.kill('SIGKILL');
    await redis.stop();
  }
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
