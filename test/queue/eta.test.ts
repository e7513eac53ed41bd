// Batch-aware positions and ETAs: the queue plans the batches its runner will form (the same grouping, the same fair
// order) and times each from the measured durations of its shape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { alongLine, BatchDurations } from '../../src/queue/batch-durations.js';
import { companionsOf, planStarts, type BatchCandidate } from '../../src/queue/batch-plan.js';
import { FairQueue, type BatchJob, type BatchSettings, type JobRunner } from '../../src/queue/index.js';
import { FakeClock, ManualBatchRunner, ManualRunner, request, startQueue, submitOk, type Accepted, type Request } from './helpers.js';

/** Prompts "<key>: …" batch by key ("solo: …" never batches), `count` images of 2 rows each (guidance). */
function batchingBy<R>(run: BatchSettings<Request, R>['run'], maxSize = 8): BatchSettings<Request, R> {
  return {
    keyOf: ({ prompt }) => {
      const key = prompt.split(':')[0];
      return key === 'solo' ? undefined : key;
    },
    sizeOf: ({ count }) => 2 * count,
    maxSize,
    run,
  };
}

/** Lets the queue's pending store writes and microtasks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('batch durations', () => {
  it('learns a duration per shape and row count, reading rows not yet run off the line through those that have', () => {
    const durations = new BatchDurations();
    assert.equal(durations.expectedMs('sd', 2), undefined);
    durations.record('sd', 2, 1000);
    assert.equal(durations.expectedMs('sd', 2), 1000);
    assert.equal(durations.expectedMs('sd', 8), 4000, 'one row count seen: proportional to rows, no gain assumed');
    durations.record('sd', 8, 1600);
    assert.equal(durations.expectedMs('sd', 6), 1400, '800 ms fixed + 100 ms per row');
    assert.equal(durations.expectedMs('xl', 2), undefined, 'another shape learns on its own');
    durations.record('sd', 2, 1500); // moving average: 1000 + 0.2 × 500
    assert.equal(durations.expectedMs('sd', 2), 1100);
  });

  it('keeps both parts of the line at 0 or above', () => {
    assert.equal(alongLine([[2, 1000], [8, 400]], 4), 700, 'falling with rows: the mean');
    assert.equal(alongLine([[2, 100], [4, 1000]], 1), 210, 'a negative fixed part: through 0 (least squares, 4200 / 20 per row)');
  });
});

describe('planStarts', () => {
  interface Add {
    readonly member: number;
    readonly guild: number;
    readonly front: boolean;
    readonly key: number;
    readonly count: number;
  }
  type Command = { readonly add: Add } | { readonly dequeue: true };
  const commandArb: fc.Arbitrary<Command> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record({ member: fc.nat(4), guild: fc.nat(2), front: fc.boolean(), key: fc.nat(2), count: fc.integer({ min: 1, max: 4 }) })
        .map((add) => ({ add })),
    },
    { weight: 1, arbitrary: fc.constant({ dequeue: true as const }) },
  );

  it('plans exactly the starts the queue makes by taking the next job and its batch, leaving the queue untouched', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), (commands, maxSize) => {
        const build = () => {
          const queue = new FairQueue();
          commands.forEach((command, i) => {
            if ('dequeue' in command) return void queue.dequeue();
            const { member, guild, front } = command.add;
            queue.enqueue(() => Promise.resolve(), { id: `j${i}`, ownerId: `m${member}`, guildId: `g${guild}`, priority: front ? 1 : 0 });
          });
          return queue;
        };
        // Key 0 never batches; keys 1 and 2 batch among themselves.
        const settings = { keyOf: (add: Add) => (add.key === 0 ? undefined : String(add.key)), sizeOf: (add: Add) => 2 * add.count, maxSize, run: () => [] };
        const candidates = new Map<string, BatchCandidate<Add>>(
          commands.flatMap((command, i) => ('add' in command ? [[`j${i}`, { job: { payload: command.add }, batchKey: settings.keyOf(command.add) }] as const] : [])),
        );
        const planned = build();
        const before = planned.order();
        const plan = planStarts(planned, settings, (id) => candidates.get(id));
        assert.deepEqual(planned.order(), before, 'the queue itself is not touched');

        const played = build();
        const starts: string[][] = [];
        for (let head = played.takeNext(); head !== undefined; head = played.takeNext()) {
          const candidate = candidates.get(head);
          const batch = candidate && companionsOf(settings, candidate, (id) => candidates.get(id));
          starts.push([head, ...(batch ? played.takeBatch(batch.accepts) : [])]); // walking to the end: \`full\` only saves time
        }
        assert.deepEqual(plan, starts);
        assert.deepEqual(plan.flat().sort(), [...before].sort(), 'every waiting job is planned once');
      }),
    );
  });
});

describe('planStarts on a long queue', () => {
  it('plays 10,000 job visits ahead, then counts the jobs left alone in their fair order', () => {
    const queue = new FairQueue();
    for (let i = 0; i < 400; i++) queue.enqueue(() => Promise.resolve(), { id: `j${i}`, ownerId: `m${i % 40}`, guildId: 'g' });
    const settings = { keyOf: () => 'sd', sizeOf: () => 2, maxSize: 8, run: () => [] };
    const plan = planStarts(queue, settings, () => ({ job: { payload: {} }, batchKey: 'sd' }));
    // Each start reads the jobs still waiting: 400 + 396 + … + 288 = 9,976 for 29 starts of 4; the 284 left go alone.
    assert.deepEqual(
      plan.map((start) => start.length),
      [...Array<number>(29).fill(4), ...Array<number>(284).fill(1)],
    );
    assert.deepEqual(plan.flat(), queue.order(), 'one shape and one guild: the plan keeps the fair order');
  });
});

describe('batch-aware positions and ETAs', () => {
  /**
   * A queue whose clock and runners the test moves, taught two batch durations of shape "sd": one job alone (2 rows)
   * in 1000 ms, then four together (8 rows) in 1600 ms. So 800 ms fixed + 100 ms per row; and 0.88 ms per cost unit
   * over both runs (1.0, then 1600 ms / 4000 units moved in by a fifth), which times the other shapes.
   */
  async function taughtQueue() {
    const clock = new FakeClock();
    const single = new ManualRunner<string>();
    const batches = new ManualBatchRunner();
    const { queue } = await startQueue({ runner: single.run, batching: batchingBy(batches.run), concurrency: 1, initialMsPerUnit: 1, now: clock.now, maxQueuedPerUser: 10 });
    const alone = await submitOk(queue, 'ann', 'sd: ann 1');
    const four = [await submitOk(queue, 'ben', 'sd: ben 1'), await submitOk(queue, 'cem', 'sd: cem 1'), await submitOk(queue, 'dan', 'sd: dan 1'), await submitOk(queue, 'eve', 'sd: eve 1')];
    assert.deepEqual(
      four.map(({ job }) => queue.positionOf(job.id)),
      Array(4).fill({ position: 1, etaMs: 5000 }),
      'nothing measured: the batch of four is timed as four jobs after the running one',
    );
    clock.advance(1000);
    (await single.call(0)).finish('done');
    await alone.outcome;
    await settle();
    assert.equal(batches.batches.length, 1);
    clock.advance(1600);
    batches.batches[0]?.finish();
    await Promise.all(four.map(({ outcome }) => outcome));
    return { clock, queue, single, batches };
  }

  it('times the batch of four compatible jobs ahead as one batch, not four jobs', async () => {
    const { queue, single } = await taughtQueue();
    const blocker = await submitOk(queue, 'zoe', 'solo: other model'); // 1000 units at 0.88 ms: 880 ms
    await single.call(1);
    const waiting: Accepted<string>[] = [];
    // Members new to the queue, so the fair order is the order they came in.
    for (const owner of ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7']) waiting.push(await submitOk(queue, owner, `sd: ${owner}`));

    // Four jobs (8 rows) fill the next batch; the fifth to seventh go in the one after (6 rows).
    assert.deepEqual(
      waiting.map(({ job }) => queue.positionOf(job.id)),
      [
        ...Array<unknown>(4).fill({ position: 1, etaMs: 880 + 1600 }),
        ...Array<unknown>(3).fill({ position: 2, etaMs: 880 + 1600 + 1400 }),
      ],
    );
    assert.deepEqual(
      queue.waiting().map(({ job, position }) => [job.payload.prompt, position]),
      waiting.map(({ job }, i) => [job.payload.prompt, i < 4 ? 1 : 2]),
    );
    assert.equal(queue.positionOf(blocker.job.id)?.position, 0);
  });

  it("shows every job of a running batch the batch's remaining time, paced by its progress", async () => {
    const { clock, queue, single, batches } = await taughtQueue();
    const blocker = await submitOk(queue, 'zoe', 'solo: other model');
    const batch = [];
    for (const owner of ['p1', 'p2', 'p3', 'p4']) batch.push(await submitOk(queue, owner, `sd: ${owner}`));
    const after = await submitOk(queue, 'p5', 'sd: p5');
    const started: number[] = [];
    queue.on('started', ({ expectedMs }) => started.push(expectedMs));
    const etas: number[] = [];
    queue.on('progress', ({ etaMs }) => etas.push(etaMs));
    (await single.call(1)).finish('done');
    await blocker.outcome;
    await settle();

    const running = batches.batches[1];
    assert.deepEqual(running?.jobs.map(({ job }) => job.payload.prompt), ['sd: p1', 'sd: p2', 'sd: p3', 'sd: p4']);
    assert.deepEqual(started, [1600, 1600, 1600, 1600]);
    assert.deepEqual(batch.map(({ job }) => queue.positionOf(job.id)), Array(4).fill({ position: 0, etaMs: 1600 }));
    assert.deepEqual(queue.positionOf(after.job.id), { position: 1, etaMs: 1600 + 1000 });

    clock.advance(400);
    running?.jobs[2]?.context.reportProgress(5, 10); // half done in 400 ms: 400 ms to go, for the whole batch
    assert.deepEqual(etas, [400]);
    assert.deepEqual(batch.map(({ job }) => queue.positionOf(job.id)), Array(4).fill({ position: 0, etaMs: 400 }));
    assert.deepEqual(queue.positionOf(after.job.id), { position: 1, etaMs: 400 + 1000 });
    running?.finish();
  });

  it('never groups incompatible jobs, and never lets a member’s second job ride ahead of another member’s first', async () => {
    const single = new ManualRunner<string>();
    const batches = new ManualBatchRunner();
    const clock = new FakeClock();
    const { queue } = await startQueue({ runner: single.run, batching: batchingBy(batches.run), concurrency: 1, initialMsPerUnit: 1, now: clock.now, maxQueuedPerUser: 10 });
    await submitOk(queue, 'zoe', 'solo: holds the slot');
    const jobs = [
      await submitOk(queue, 'ann', 'sd: ann 1'),
      await submitOk(queue, 'ben', 'xl: ben 1'),
      await submitOk(queue, 'cem', 'sd: cem 1'),
      await submitOk(queue, 'dan', 'xl: dan 1'),
      await submitOk(queue, 'ann', 'sd: ann 2'),
      await submitOk(queue, 'eve', 'xl: eve 1'),
    ];
    // Fair order: ann 1, ben 1, cem 1, dan 1, eve 1, ann 2. ann 1's batch takes cem 1 (ben 1 is another model, and
    // cem has had no turn yet), not ann 2 (ann has had hers while ben waits); ben 1's takes dan 1 and eve 1.
    assert.deepEqual(
      queue.waiting().map(({ job, position }) => [job.payload.prompt, position]),
      [
        ['sd: ann 1', 1],
        ['sd: cem 1', 1],
        ['xl: ben 1', 2],
        ['xl: dan 1', 2],
        ['xl: eve 1', 2],
        ['sd: ann 2', 3],
      ],
    );
    // Nothing measured: each start is timed as its jobs' units (1000 ms each) after the running job's 1000 ms.
    assert.deepEqual(
      jobs.map(({ job }) => queue.positionOf(job.id)?.etaMs),
      [3000, 6000, 3000, 6000, 7000, 6000],
    );
  });

  it('starts the jobs of random queues exactly in the planned batches and order', async () => {
    const jobArb = fc.record({ member: fc.nat(3), guild: fc.nat(1), key: fc.constantFrom('sd', 'xl', 'solo'), count: fc.integer({ min: 1, max: 3 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(jobArb, { minLength: 1, maxLength: 12 }), fc.integer({ min: 2, max: 8 }), async (jobs, maxSize) => {
        // The runners stand for the GPU: they record each start (a job alone or a batch) and end it at once, but
        // for the first job, which holds the slot until every other job is queued.
        const starts: string[][] = [];
        let release = () => {};
        const gate = new Promise<void>((resolve) => (release = resolve));
        const runner: JobRunner<Request, string> = async ({ payload }) => {
          if (payload.prompt === 'solo: first') return gate.then(() => 'held');
          starts.push([payload.prompt]);
          return 'done';
        };
        const run = (batch: readonly BatchJob<Request>[]) => {
          starts.push(batch.map(({ job }) => job.payload.prompt));
          return batch.map(() => Promise.resolve('done'));
        };
        const { queue, store } = await startQueue({ runner, batching: batchingBy(run, maxSize), concurrency: 1, maxQueuedPerUser: 20 });
        const first = await submitOk(queue, 'first', 'solo: first');
        const outcomes = [first.outcome];
        for (const [i, { member, guild, key, count }] of jobs.entries()) {
          const submitted = await queue.submit({ ownerId: `m${member}`, guildId: `g${guild}`, payload: { ...request(`${key}: ${i}`), count } });
          assert.ok(submitted.ok);
          outcomes.push(submitted.outcome);
        }
        const planned: string[][] = [];
        for (const { job, position } of queue.waiting()) (planned[position - 1] ??= []).push(job.payload.prompt);

        release();
        await Promise.all(outcomes);
        assert.deepEqual(starts, planned);
        await queue.close();
        await store.close();
      }),
      { numRuns: 40 },
    );
  });
});
