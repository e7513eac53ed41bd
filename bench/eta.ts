// Batch-aware ETAs (issue 17): what planning the queue's next starts costs on every queue change, and how far the
// ETAs told to waiting jobs land from their real ends when the queue batches real work (tiny-sd on the CPU), beside
// what counting every job ahead as run alone (the queue's ETA before batching was planned) would have said.
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { StableDiffusionPipeline, type GenerateRequest } from '../src/pipeline/index.js';
import { hasRoomFor, type WorkerSlots } from '../src/gpu-workers/slot-matching.js';
import { planStarts, planStartsWithRoom, type BatchCandidate } from '../src/queue/batch-plan.js';
import { FairQueue, JobQueue, type BatchSettings } from '../src/queue/index.js';
import { Store } from '../src/store/index.js';

const MODEL = 'test/fixtures/tiny-sd';
/** One shape for every job: 20 steps DPM++ 2M Karras at 64², CFG 7.5 (2 UNet rows each, 4 jobs to a batch of 8). */
const SHARED = { width: 64, height: 64, steps: 20, sampler: 'dpmpp_2m_karras', cfg: 7.5 } as const satisfies Omit<GenerateRequest, 'prompt'>;
const MAX_ROWS = 8;

export async function benchEta(): Promise<void> {
  benchPlanning();
  await benchAccuracy();
}

/** A waiting job of the planning figures: its shape (for GPU workers, its model too) and its pictures. */
interface Waiting {
  readonly shape: number;
  readonly count: number;
}

/**
 * ms per plan of a full queue: 100 and 1,000 waiting jobs from 34 members in 5 guilds, of 1, 3 or all-different
 * shapes; on the bot's own GPU, then on four GPU workers (two slots each, shape k a model of workers k mod 4 and
 * k + 1 mod 4), their slots all taken.
 */
function benchPlanning(): void {
  const batching: BatchSettings<Waiting, never> = { keyOf: ({ shape }) => String(shape), sizeOf: ({ count }) => 2 * count, maxSize: MAX_ROWS, run: () => [] };
  const workers: WorkerSlots[] = [0, 1, 2, 3].map((w) => ({ capacity: 2, models: new Set(Array.from({ length: 1000 }, (_, k) => String(k)).filter((k) => [w, (w + 3) % 4].includes(Number(k) % 4))) }));
  const rooms = new Map<string, boolean>();
  const withRoom = {
    count: 8,
    taken: Array.from({ length: 8 }, (_, i) => ({ payload: { shape: i % 4, count: 1 }, endMs: 1000 * (i + 1) })),
    // Answers kept per running models and model, as RemoteGenerator.hasRoom keeps them.
    hasRoom: (payload: Waiting, running: readonly Waiting[]) => {
      const models = running.map(({ shape }) => String(shape));
      const key = `${[...models].sort().join()}|${payload.shape}`;
      const answer = rooms.get(key) ?? hasRoomFor(workers, models, String(payload.shape));
      rooms.set(key, answer);
      return answer;
    },
  };
  for (const [where, plan] of [
    ['the bot\'s own GPU', (queue: FairQueue, candidateOf: (id: string) => BatchCandidate<Waiting> | undefined) => planStarts(queue, batching, candidateOf)],
    ['four GPU workers', (queue: FairQueue, candidateOf: (id: string) => BatchCandidate<Waiting> | undefined) => planStartsWithRoom(queue, batching, candidateOf, withRoom, (ids) => 1000 + 100 * ids.length)],
  ] as const) {
    for (const waiting of [100, 1000]) {
      const figures = [1, 3, waiting].map((shapes) => {
        const queue = new FairQueue();
        // Each job's key read once, as the queue reads it when the job comes in.
        const candidates = new Map<string, BatchCandidate<Waiting>>();
        for (let i = 0; i < waiting; i++) {
          const payload = { shape: i % shapes, count: 1 + (i % 2) };
          candidates.set(`j${i}`, { job: { payload }, batchKey: batching.keyOf(payload) });
          queue.enqueue(() => Promise.resolve(), { id: `j${i}`, ownerId: `m${i % 34}`, guildId: `g${i % 5}` });
        }
        const ms = meanMs(20, () => plan(queue, (id) => candidates.get(id)));
        return `${shapes === waiting ? 'all different' : shapes} shape${shapes === 1 ? '' : 's'} ${ms.toFixed(2)} ms`;
      });
      console.log(`plan of ${waiting} waiting jobs on ${where}: ${figures.join(', ')}`);
    }
  }
}

/**
 * The queue learns from three rounds (a job alone, then four batched) on a warm model, then takes nine jobs at once: one starts at
 * once and eight wait, in two batches of four. Prints each waiting job's ETA as told, as counted alone, and its end.
 */
async function benchAccuracy(): Promise<void> {
  const pipeline = await StableDiffusionPipeline.load(MODEL, { provider: 'cpu' });
  const store = await Store.open('sqlite://:memory:');
  try {
    // The first runs of a batch size are slow (the runtime sizes its buffers): warm both up before the queue learns.
    const warmUp = [0, 1, 2, 3].map((seed) => ({ request: { ...SHARED, prompt: 'warm-up', seed } }));
    await pipeline.generate(warmUp[0]?.request ?? { ...SHARED, prompt: 'warm-up' });
    await Promise.all(pipeline.generateBatch(warmUp, { maxRows: MAX_ROWS }));
    const Payload = z.object({ prompt: z.string(), seed: z.number().int() });
    const requestOf = (payload: z.infer<typeof Payload>): GenerateRequest => ({ ...SHARED, ...payload });
    const queue = await JobQueue.open({
      store,
      payloadSchema: Payload,
      costOf: () => ({ steps: SHARED.steps, pixels: SHARED.width * SHARED.height, count: 1 }),
      runner: (job, context) => pipeline.generate(requestOf(job.payload), { signal: context.signal, onProgress: (step, total) => context.reportProgress(step, total) }),
      batching: {
        keyOf: () => 'tiny-sd',
        sizeOf: () => 2,
        maxSize: MAX_ROWS,
        run: (jobs) =>
          pipeline.generateBatch(
            jobs.map(({ job, context }) => ({ request: requestOf(job.payload), hooks: { signal: context.signal, onProgress: (step, total) => context.reportProgress(step, total) } })),
            { maxRows: MAX_ROWS },
          ),
      },
      maxQueuedPerUser: 10,
    });
    await queue.start();
    let seed = 0;
    const submitAll = async (jobs: number) => {
      const accepted = [];
      for (let i = 0; i < jobs; i++) {
        const result = await queue.submit({ ownerId: `member-${i}`, guildId: 'guild', payload: { prompt: `a lighthouse, take ${seed}`, seed: seed++ } });
        if (!result.ok) throw new Error(`Job refused: ${result.message}`);
        accepted.push(result);
      }
      return accepted;
    };
    // Each round: the first job starts at once, alone; the next four wait and then run as one batch.
    const aloneRuns: number[] = [];
    for (let round = 0; round < 3; round++) {
      const [first, ...rest] = await submitAll(5);
      const outcome = await first?.outcome;
      if (outcome?.status === 'completed') aloneRuns.push(outcome.runMs);
      await Promise.all(rest.map((job) => job.outcome));
    }
    const aloneMs = aloneRuns.reduce((sum, ms) => sum + ms, 0) / aloneRuns.length;

    const jobs = await submitAll(9);
    const start = Date.now();
    const [running, ...waiting] = jobs.map(({ job }) => ({ job, told: queue.positionOf(job.id) }));
    const runningLeft = running?.told?.etaMs ?? 0;
    const ends = await Promise.all(jobs.map(({ outcome }) => outcome.then(() => Date.now() - start)));
    const rows = waiting.map(({ told }, i) => {
      const end = ends[i + 1] ?? 0;
      const alone = runningLeft + (i + 1) * aloneMs;
      return { position: told?.position ?? 0, told: told?.etaMs ?? 0, alone, end };
    });
    console.log(`tiny-sd CPU 64², 20 steps: 1 job running, 8 waiting (a job alone took ${aloneMs.toFixed(0)} ms)`);
    for (const { position, told, alone, end } of rows) {
      console.log(`  place ${position}: ETA ${told} ms (counted alone: ${alone.toFixed(0)} ms), ended after ${end} ms`);
    }
    const meanError = (pick: (row: (typeof rows)[number]) => number) => rows.reduce((sum, row) => sum + Math.abs(pick(row) - row.end) / row.end, 0) / rows.length;
    console.log(`  mean |error|: batch-aware ${(100 * meanError((row) => row.told)).toFixed(0)} %, counted alone ${(100 * meanError((row) => row.alone)).toFixed(0)} %`);
    await queue.close();
  } finally {
    await store.close();
    await pipeline.dispose();
  }
}

function meanMs(runs: number, run: () => unknown): number {
  run(); // warm-up
  const start = performance.now();
  for (let i = 0; i < runs; i++) run();
  return (performance.now() - start) / runs;
}
