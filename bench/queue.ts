// Load test of the job queue (issue 6): 1,000 jobs from 50 members with random run times of 0–2 ms on one GPU slot.
// Checks that no job is lost or run twice, and measures what the queue itself costs per job, on an in-memory and
// on a file SQLite store:
//   accept   = time of one submit() (validation, limits, the record write, position and ETA);
//   dispatch = gap between one job's runner returning and the next job's runner being called (freeing the slot,
//              picking the next turn, recording it as running, deleting the finished record, events).
// A 'position' listener is attached, as the bot has one: every start moves every waiting job up.
// Run: npx tsx -e "import('./bench/queue.ts').then(m=>m.benchQueue())"
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { JobQueue } from '../src/queue/index.js';
import { Store } from '../src/store/index.js';

const JOBS = 1000;
const MEMBERS = 50;
const MAX_RUN_MS = 2;

const Payload = z.object({ runMs: z.number().min(0).max(MAX_RUN_MS) });
type Payload = z.infer<typeof Payload>;

interface LoadResult {
  /** ms per submit(). */
  readonly accept: readonly number[];
  /** ms between a runner returning and the next runner starting. */
  readonly dispatch: readonly number[];
  /** CPU time of the process (all threads) per job over both phases, ms: what the queue and store cost at rest. */
  readonly cpuMsPerJob: number;
  readonly positionEvents: number;
  readonly lost: number;
  readonly runTwice: number;
}

/** Runs the load test on each store and prints the overhead per job. Throws if a job was lost or run twice. */
export async function benchQueue(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dreamcord-bench-queue-'));
  try {
    console.log(`queue: ${JOBS} jobs from ${MEMBERS} members, runner 0–${MAX_RUN_MS} ms, 1 GPU slot (accept, dispatch: mean / median / p99)`);
    for (const [label, url] of [
      ['in-memory SQLite', 'sqlite://:memory:'],
      ['SQLite file (WAL)', `sqlite://${join(dir, 'queue.sqlite')}`],
    ] as const) {
      const r = await runLoad(url);
      console.log(
        `  ${label}: accept ${summary(r.accept)}, dispatch ${summary(r.dispatch)}; ` +
          `CPU ${r.cpuMsPerJob.toFixed(3)} ms; ${r.positionEvents} position events; lost ${r.lost}, run twice ${r.runTwice}`,
      );
      if (r.lost > 0 || r.runTwice > 0) throw new Error(`The queue lost ${r.lost} jobs and ran ${r.runTwice} twice on ${label}.`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runLoad(url: string): Promise<LoadResult> {
  const store = await Store.open(url);
  const runs = new Map<string, number>();
  const dispatch: number[] = [];
  let lastEnd: number | undefined;
  // The first job holds the slot until every job is accepted, so the two phases are measured apart.
  let openGate: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const queue = await JobQueue.open<Payload, number>({
    store,
    payloadSchema: Payload,
    costOf: () => ({ steps: 20, pixels: 512 * 512, count: 1 }),
    maxQueuedPerUser: JOBS / MEMBERS,
    maxQueued: JOBS,
    runner: async (job) => {
      await gate;
      const start = performance.now();
      if (lastEnd !== undefined) dispatch.push(start - lastEnd);
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      if (job.payload.runMs > 0) await sleep(job.payload.runMs);
      lastEnd = performance.now();
      return job.seq;
    },
  });
  let positionEvents = 0;
  queue.on('position', () => positionEvents++);
  await queue.start();

  const owners = shuffle(Array.from({ length: JOBS }, (_, i) => `member-${i % MEMBERS}`));
  const accept: number[] = [];
  const outcomes = [];
  const cpuBefore = process.cpuUsage();
  for (const ownerId of owners) {
    const start = performance.now();
    const result = await queue.submit({ ownerId, guildId: 'guild', payload: { runMs: Math.random() * MAX_RUN_MS } });
    accept.push(performance.now() - start);
    if (!result.ok) throw new Error(`Job refused: ${result.message}`);
    outcomes.push(result.outcome);
  }
  openGate();
  const ended = await Promise.all(outcomes);
  const cpu = process.cpuUsage(cpuBefore);
  await queue.close();
  await store.close();

  const completed = ended.filter((outcome) => outcome.status === 'completed').length;
  return {
    accept,
    dispatch,
    cpuMsPerJob: (cpu.user + cpu.system) / 1000 / JOBS,
    positionEvents,
    lost: JOBS - completed,
    runTwice: [...runs.values()].filter((count) => count > 1).length,
  };
}

/** "mean / median / p99" of `samples`, in ms. */
function summary(samples: readonly number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = sorted.reduce((sum, x) => sum + x, 0) / Math.max(sorted.length, 1);
  return `${mean.toFixed(3)} / ${at(0.5).toFixed(3)} / ${at(0.99).toFixed(3)} ms`;
}

/** Fisher–Yates, in place. */
function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
