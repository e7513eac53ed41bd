// Places and ETAs with GPU workers (room per model): the queue plays its starts in time on the workers' slots — the
// next job with room takes the slot that frees first, with the batch the runner would form — and times each start
// as the bot's own GPU does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hasRoomFor, type WorkerSlots } from '../../src/gpu-workers/slot-matching.js';
import { planStarts, planStartsWithRoom, type BatchCandidate } from '../../src/queue/batch-plan.js';
import { projectFinishes } from '../../src/queue/eta.js';
import { FairQueue, type BatchSettings } from '../../src/queue/index.js';
import { FakeClock, ManualBatchRunner, ManualRunner, request, startQueue, waitFor, type Accepted, type Request } from './helpers.js';

const worker = (capacity: number, ...models: string[]): WorkerSlots => ({ capacity, models: new Set(models) });

describe('planStartsWithRoom', () => {
  /** A waiting job of the plan's tests: its model and its UNet rows. */
  interface Planned {
    readonly model: string;
    readonly rows: number;
  }

  /** Batches by model, up to `roomOf(model)` rows (the workers' own room, as `maxSizeOf`). */
  const byModel = (roomOf: (model: string) => number = () => 8): BatchSettings<Planned, never> => ({
    keyOf: ({ model }) => model,
    sizeOf: ({ rows }) => rows,
    maxSize: 8,
    maxSizeOf: ({ model }) => roomOf(model),
    run: () => [],
  });

  /** A waiting job as the plan reads it, its key its model. */
  const candidate = (planned: Planned): BatchCandidate<Planned> => ({ job: { payload: planned }, batchKey: planned.model });

  /** A fair queue of one guild whose members each have one job, in the order given: so the fair order is that order. */
  function queueOf(jobs: ReadonlyArray<readonly [string, Planned]>) {
    const fair = new FairQueue();
    for (const [id] of jobs) fair.enqueue(() => Promise.resolve(), { id, ownerId: `owner of ${id}`, guildId: 'g' });
    const payloads = new Map(jobs);
    const payloadOf = (id: string) => payloads.get(id);
    const candidateOf = (id: string) => {
      const planned = payloadOf(id);
      return planned && candidate(planned);
    };
    return { fair, payloadOf, candidateOf };
  }

  it('gives each freed worker the next job with its model, with the batch the runner forms, and times it by model and rows', () => {
    // An sd worker and an xl worker, one batch at a time each; the sd one is free in 500 ms, the xl one in 2,500 ms.
    const workers = [worker(1, 'sd'), worker(1, 'xl')];
    const jobs = [
      ['a', { model: 'sd', rows: 2 }],
      ['b', { model: 'xl', rows: 2 }],
      ['c', { model: 'sd', rows: 2 }],
      ['d', { model: 'sd', rows: 2 }],
      ['e', { model: 'xl', rows: 2 }],
      ['f', { model: 'sd', rows: 2 }],
      ['g', { model: 'v2', rows: 2 }],
    ] as const;
    const { fair, payloadOf, candidateOf } = queueOf(jobs);
    const before = fair.order();
    // The measured durations, injected: sd 800 ms + 100 ms per row, xl 2,000 ms + 200 ms per row.
    const durationMs = (ids: readonly string[]) => {
      const planned = ids.map((id) => payloadOf(id) ?? assert.fail(id));
      const rows = planned.reduce((sum, { rows: r }) => sum + r, 0);
      return planned[0]?.model === 'xl' ? 2000 + 200 * rows : 800 + 100 * rows;
    };
    const plan = planStartsWithRoom(
      fair,
      byModel((model) => (model === 'sd' ? 4 : 8)), // the sd worker takes 4 rows: two jobs
      candidateOf,
      {
        count: 2,
        taken: [
          { payload: { model: 'sd', rows: 2 }, endMs: 500 },
          { payload: { model: 'xl', rows: 2 }, endMs: 2500 },
        ],
        hasRoom: (payload, running) => hasRoomFor(workers, running.map(({ model }) => model), payload.model),
      },
      durationMs,
    );
    assert.deepEqual(plan, [
      { ids: ['a', 'c'], endMs: 500 + 1200 }, // b waits for the xl worker; c fills a's batch
      { ids: ['d', 'f'], endMs: 1700 + 1200 }, // the sd worker frees again before the xl one
      { ids: ['b', 'e'], endMs: 2500 + 2800 },
      { ids: ['g'], endMs: 5300 + 1000 }, // no worker has v2: counted after the others, alone
    ]);
    assert.deepEqual(fair.order(), before, 'the queue itself is not touched');
  });

  it('counts a worker with two models once: a freed slot goes to whichever job has room on it', () => {
    // One worker with sd and xl, two slots: the sd batch running in one, an xl job next, then sd again.
    const workers = [worker(2, 'sd', 'xl')];
    const { fair, candidateOf } = queueOf([
      ['x1', { model: 'xl', rows: 2 }],
      ['s1', { model: 'sd', rows: 2 }],
      ['x2', { model: 'xl', rows: 2 }],
    ]);
    const plan = planStartsWithRoom(
      fair,
      undefined, // no batching: each job alone
      candidateOf,
      { count: 2, taken: [{ payload: { model: 'sd', rows: 2 }, endMs: 300 }], hasRoom: (payload, running) => hasRoomFor(workers, running.map(({ model }) => model), payload.model) },
      () => 1000,
    );
    assert.deepEqual(plan, [
      { ids: ['x1'], endMs: 1000 }, // the free slot, at once
      { ids: ['s1'], endMs: 1300 }, // the sd batch's slot
      { ids: ['x2'], endMs: 2000 },
    ]);
  });

  it('reads each waiting job once per plan: a job whose candidate is gone on a later read keeps its start', () => {
    // Every job of the plan's tests would do; the queue's own lookup answers alike throughout a plan, this one not.
    const workers = [worker(1, 'sd'), worker(1, 'xl')];
    const { fair, candidateOf } = queueOf([
      ['a', { model: 'sd', rows: 2 }],
      ['b', { model: 'xl', rows: 2 }],
      ['c', { model: 'sd', rows: 2 }],
    ]);
    const read = new Set<string>();
    const answeringOnce = (id: string) => {
      if (read.has(id)) return undefined;
      read.add(id);
      return candidateOf(id);
    };
    const slots = { count: 2, taken: [], hasRoom: (payload: Planned, running: readonly Planned[]) => hasRoomFor(workers, running.map(({ model }) => model), payload.model) };
    const plan = planStartsWithRoom(fair, byModel(), answeringOnce, slots, () => 1000);
    assert.deepEqual(plan, [
      { ids: ['a', 'c'], endMs: 1000 },
      { ids: ['b'], endMs: 1000 },
    ]);
    read.clear();
    assert.deepEqual(planStarts(fair, byModel(), answeringOnce), [['a', 'c'], ['b']]);
  });

  it('plans what planStarts and the slots as they free plan, where every slot runs every job', () => {
    const jobArb = fc.record({ member: fc.nat(4), guild: fc.nat(2), model: fc.constantFrom('sd', 'xl'), rows: fc.constantFrom(1, 2, 4), ms: fc.integer({ min: 1, max: 5000 }) });
    fc.assert(
      fc.property(
        fc.array(jobArb, { maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 4 }),
        (jobs, slots, busy) => {
          const fair = new FairQueue();
          jobs.forEach(({ member, guild }, i) => fair.enqueue(() => Promise.resolve(), { id: `j${i}`, ownerId: `m${member}`, guildId: `g${guild}` }));
          const payloadOf = (id: string) => jobs[Number(id.slice(1))];
          const candidateOf = (id: string) => {
            const payload = payloadOf(id);
            return payload && { job: { payload }, batchKey: payload.model };
          };
          const settings: BatchSettings<Planned, never> = { keyOf: ({ model }) => model, sizeOf: ({ rows }) => rows, maxSize: 4, run: () => [] };
          // A start lasts as long as its longest job plus 100 ms per job: any rule of the ids will do.
          const durationMs = (ids: readonly string[]) => Math.max(...ids.map((id) => payloadOf(id)?.ms ?? 0)) + 100 * ids.length;
          const taken = busy.slice(0, slots).map((endMs) => ({ payload: { model: 'sd', rows: 2 }, endMs }));
          const withRoom = planStartsWithRoom(fair, settings, candidateOf, { count: slots, taken, hasRoom: () => true }, durationMs);
          const starts = planStarts(fair, settings, candidateOf);
          const finishes = projectFinishes(busy.slice(0, slots), slots, starts.map(durationMs));
          assert.deepEqual(
            withRoom,
            starts.map((ids, i) => ({ ids, endMs: finishes[i] })),
          );
        },
      ),
    );
  });
});

describe('places and ETAs with GPU workers', () => {
  /** The model a test job asks for: the prompt's first word ("xl cat" → "xl"). */
  const modelOf = (payload: Request) => payload.prompt.split(' ')[0] ?? '';

  it("tells each waiting job the batch it will start in and its end, on the worker with its model that frees first, and starts them so", async () => {
    const clock = new FakeClock();
    const single = new ManualRunner<string>();
    const batches = new ManualBatchRunner();
    const workers = [worker(1, 'sd'), worker(1, 'xl')];
    const batching: BatchSettings<Request, string> = {
      keyOf: modelOf,
      sizeOf: ({ count }) => 2 * count,
      maxSize: 8,
      maxSizeOf: () => 4, // the workers take 4 rows: two one-image jobs
      run: batches.run,
    };
    const { queue } = await startQueue({
      runner: single.run,
      batching,
      hasRoom: (payload, running) => hasRoomFor(workers, running.map(modelOf), modelOf(payload)),
      concurrency: 2,
      initialMsPerUnit: 1, // 1 ms per cost unit: a job of request() takes 1,000 ms, one of 30 steps 3,000 ms
      now: clock.now,
    });
    const submit = async (ownerId: string, prompt: string, steps = 10): Promise<Accepted<string>> => {
      const result = await queue.submit({ ownerId, guildId: 'guild-1', payload: { ...request(prompt), steps } });
      assert.ok(result.ok);
      return result;
    };
    const zoe = await submit('zoe', 'sd zoe'); // the sd worker: 1,000 ms
    await submit('yan', 'xl yan', 30); // the xl worker: 3,000 ms
    const [sdRun, xlRun] = [await single.call(0), await single.call(1)];
    assert.deepEqual([sdRun.job.id, queue.positionOf(zoe.job.id)], [zoe.job.id, { position: 0, etaMs: 1000 }]);
    const waiting = new Map<string, Accepted<string>>();
    for (const name of ['ann', 'cem', 'dan', 'eve']) waiting.set(name, await submit(name, `sd ${name}`));
    waiting.set('ben', await submit('ben', 'xl ben'));
    const placements = () => Object.fromEntries([...waiting].map(([name, { job }]) => [name, queue.positionOf(job.id)]));

    // Fair order ann, cem, dan, eve, ben. The sd worker frees at 1,000: ann and cem (2,000 ms as a batch of 4 rows);
    // at 3,000 both workers free, the xl one first (its job started first): ben; then the sd one: dan and eve.
    // Counted alone in fair order on two slots, as before, ann would have been told 2,000 and ben 5,000.
    assert.deepEqual(placements(), {
      ann: { position: 1, etaMs: 3000 },
      cem: { position: 1, etaMs: 3000 },
      ben: { position: 2, etaMs: 4000 },
      dan: { position: 3, etaMs: 5000 },
      eve: { position: 3, etaMs: 5000 },
    });

    clock.advance(1000);
    sdRun.finish('done');
    await waitFor(() => batches.batches.length === 1);
    assert.deepEqual(batches.batches[0]?.jobs.map(({ job }) => job.payload.prompt), ['sd ann', 'sd cem']);
    clock.advance(2000);
    xlRun.finish('done');
    const ben = await single.call(2);
    assert.equal(ben.job.payload.prompt, 'xl ben', 'the xl worker takes ben alone: no other xl job waits');
    batches.batches[0]?.finish();
    await waitFor(() => batches.batches.length === 2);
    assert.deepEqual(batches.batches[1]?.jobs.map(({ job }) => job.payload.prompt), ['sd dan', 'sd eve']);
    ben.finish('done');
    batches.batches[1]?.finish();
    await queue.close();
  });
});
