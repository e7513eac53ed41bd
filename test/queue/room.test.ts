// Issue 21: where the GPU slots are workers that each run only their own models, a job starts only when a slot
// with its model is free, and a job without room does not hold up the jobs of other models.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasRoomFor, type WorkerSlots } from '../../src/gpu-workers/slot-matching.js';
import type { BatchJob, BatchSettings } from '../../src/queue/index.js';
import { seededRandom } from '../support/seeded-random.js';
import { ManualRunner, startQueue, submitOk, waitFor, type Request } from './helpers.js';

/** The model a test job asks for: the prompt's first word ("xl cat" → "xl"). */
const modelOf = (payload: Request) => payload.prompt.split(' ')[0] ?? '';

/** A queue whose slots are `workers`, as the bot's queue is with GPU workers. */
function roomOn(workers: () => readonly WorkerSlots[]) {
  return (payload: Request, running: readonly Request[]) => hasRoomFor(workers(), running.map(modelOf), modelOf(payload));
}

describe('room per model (GPU workers with their own models)', () => {
  it("starts a job only on a slot with its model; a job without room keeps its place and does not block another model's", async () => {
    const runner = new ManualRunner<string>();
    const workers = [{ capacity: 1, models: new Set(['sd']) }, { capacity: 1, models: new Set(['xl']) }];
    const { queue } = await startQueue({ runner: runner.run, concurrency: 2, hasRoom: roomOn(() => workers) });
    await submitOk(queue, 'ann', 'sd one');
    await submitOk(queue, 'ben', 'sd two');
    const xl = await submitOk(queue, 'cem', 'xl three');
    const [first, second] = await Promise.all([runner.call(0), runner.call(1)]);
    assert.deepEqual([first.job.payload.prompt, second.job.payload.prompt], ['sd one', 'xl three'], "ben's sd job waits for the sd slot; cem's xl job goes past it");
    assert.equal(xl.position, 0, 'the xl job started at once');
    assert.deepEqual([queue.stats().queued, queue.stats().running], [1, 2]);
    second.finish('image');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(runner.calls.length, 2, 'the xl slot freed: still no room for an sd job');
    first.finish('image');
    assert.equal((await runner.call(2)).job.payload.prompt, 'sd two');
  });

  it('keeps fair order among the jobs of one model while another model waits for its worker', async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1, maxQueuedPerUser: 5, hasRoom: roomOn(() => [{ capacity: 1, models: new Set(['sd']) }]) });
    for (const [owner, prompt] of [['ann', 'xl a1'], ['ann', 'sd a2'], ['ann', 'sd a3'], ['ben', 'sd b1'], ['ben', 'sd b2']] as const) await submitOk(queue, owner, prompt);
    const started: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const call = await runner.call(i);
      started.push(call.job.payload.prompt);
      call.finish('image');
    }
    // Without the xl job the order is ann, ben, ann, ben: ann's xl job waiting does not cost her sd jobs their turns.
    assert.deepEqual(started, ['sd a2', 'sd b1', 'sd a3', 'sd b2']);
    assert.equal(queue.stats().queued, 1, 'the xl job waits for a worker with its model');
  });

  it('starts a waiting job once a worker with its model joins (resize), and not before', async () => {
    const runner = new ManualRunner<string>();
    let workers: WorkerSlots[] = [{ capacity: 1, models: new Set(['sd']) }];
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1, hasRoom: roomOn(() => workers) });
    const waiting = await submitOk(queue, 'ann', 'xl fox');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(runner.calls.length, 0);
    workers = [...workers, { capacity: 1, models: new Set(['xl']) }];
    queue.resize(2);
    const call = await runner.call(0);
    assert.equal(call.job.id, waiting.job.id);
  });
});

describe('room per model with batching (GPU workers that batch)', () => {
  it("counts a batch as one slot of a worker, and fills it only up to the room the job's workers have (maxSizeOf)", async () => {
    const runner = new ManualRunner<string>();
    const batches: (readonly BatchJob<Request>[])[] = [];
    let workers: WorkerSlots[] = [{ capacity: 1, models: new Set(['sd']) }];
    const batching: BatchSettings<Request, string> = {
      keyOf: modelOf,
      sizeOf: () => 2,
      maxSize: 8,
      // The workers with the model take 4 rows: two jobs, not the four the bot's own room would take.
      maxSizeOf: () => 4,
      run: (jobs) => {
        batches.push(jobs);
        return jobs.map(({ context }) => new Promise<string>((_, stop) => context.signal.addEventListener('abort', () => stop(context.signal.reason as Error))));
      },
    };
    const { queue } = await startQueue({ runner: runner.run, batching, concurrency: 1, maxQueuedPerUser: 5, hasRoom: roomOn(() => workers) });
    await submitOk(queue, 'zoe', 'sd zoe');
    const first = await runner.call(0);
    for (const owner of ['ann', 'ben', 'cem']) await submitOk(queue, owner, `sd ${owner}`);
    first.finish('image');
    await waitFor(() => batches.length === 1);
    assert.deepEqual(batches[0]?.map(({ job }) => job.payload.prompt), ['sd ann', 'sd ben']);
    // A second slot on the worker: the running batch takes one of its two, so cem starts in the other.
    workers = [{ capacity: 2, models: new Set(['sd']) }];
    queue.resize(2);
    assert.equal((await runner.call(1)).job.payload.prompt, 'sd cem');
    assert.deepEqual([queue.stats().queued, queue.stats().running], [0, 3]);
    await queue.close({ drain: false });
  });
});

describe('hasRoomFor', () => {
  const worker = (capacity: number, ...models: string[]): WorkerSlots => ({ capacity, models: new Set(models) });

  it('moves a running job in its mind to make room: an sd job runs on the worker that has both models, xl fits beside it', () => {
    // Two workers: one with sd and xl, one with sd only. An sd job is running (on either); an xl job fits only if the
    // sd job sits on the sd-only worker, which the matching finds.
    assert.equal(hasRoomFor([worker(1, 'sd', 'xl'), worker(1, 'sd')], ['sd'], 'xl'), true);
    assert.equal(hasRoomFor([worker(1, 'sd', 'xl'), worker(1, 'sd')], ['sd', 'sd'], 'xl'), false);
  });

  it('counts capacity over a worker\'s models, not per model', () => {
    assert.equal(hasRoomFor([worker(2, 'sd', 'xl')], ['sd'], 'xl'), true);
    assert.equal(hasRoomFor([worker(2, 'sd', 'xl')], ['sd', 'xl'], 'sd'), false);
  });

  it('has no room for a model no worker has', () => {
    assert.equal(hasRoomFor([worker(4, 'sd')], [], 'xl'), false);
    assert.equal(hasRoomFor([], [], 'sd'), false);
  });

  it('agrees with an exhaustive search on random fleets: room exactly when one more job can be placed', () => {
    /** The most of `jobs` that fit on `workers`, trying every assignment (each job on a worker with its model, or none). */
    const mostPlaced = (workers: readonly WorkerSlots[], jobs: readonly string[], used: readonly number[] = workers.map(() => 0)): number => {
      const [job, ...rest] = jobs;
      if (job === undefined) return 0;
      let best = mostPlaced(workers, rest, used);
      workers.forEach((candidate, i) => {
        if (!candidate.models.has(job) || (used[i] ?? 0) >= candidate.capacity) return;
        best = Math.max(best, 1 + mostPlaced(workers, rest, used.map((count, j) => (j === i ? count + 1 : count))));
      });
      return best;
    };
    const next = seededRandom(21);
    const models = ['sd', 'xl', 'pony'];
    const pick = () => models[Math.floor(next() * models.length)] ?? 'sd';
    for (let round = 0; round < 300; round += 1) {
      const workers = Array.from({ length: 1 + Math.floor(next() * 3) }, () => worker(1 + Math.floor(next() * 2), ...models.filter(() => next() < 0.5)));
      const running = Array.from({ length: Math.floor(next() * 5) }, pick);
      const model = pick();
      const expected = mostPlaced(workers, [...running, model]) > mostPlaced(workers, running);
      assert.equal(hasRoomFor(workers, running, model), expected, `round ${round}: ${JSON.stringify({ workers: workers.map((w) => [w.capacity, [...w.models]]), running, model })}`);
    }
  });

  it('does not let a running job whose worker left block the other models', () => {
    assert.equal(hasRoomFor([worker(1, 'sd')], ['xl'], 'sd'), true);
    assert.equal(hasRoomFor([worker(1, 'sd')], ['xl', 'sd'], 'sd'), false);
  });
});
