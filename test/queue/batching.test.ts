import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FairQueue, type BatchJob, type BatchSettings, type JobOutcome } from '../../src/queue/index.js';
import { ManualRunner, startQueue, storedJobIds, submitOk, type Request } from './helpers.js';

// ---------------------------------------------------------------------------------------------------------------
// FairQueue.takeBatch: which waiting jobs start with the job whose turn it is.

interface Add {
  readonly member: number;
  readonly guild: number;
  readonly front: boolean;
}
type Command = { readonly add: Add } | { readonly dequeue: true };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ member: fc.nat(4), guild: fc.nat(2), front: fc.boolean() }).map((add) => ({ add })) },
  { weight: 1, arbitrary: fc.constant({ dequeue: true as const }) },
);

/** A queue built by `commands`: job ids `j0`, `j1`, … in order of adding, owned by `m<member>` in `g<guild>`. */
function build(commands: readonly Command[]): { queue: FairQueue; lanes: Map<string, string> } {
  const queue = new FairQueue();
  const lanes = new Map<string, string>();
  commands.forEach((command, i) => {
    if ('dequeue' in command) {
      queue.dequeue();
      return;
    }
    const { member, guild, front } = command.add;
    const id = `j${i}`;
    lanes.set(id, `m${member}@g${guild}`);
    queue.enqueue(() => Promise.resolve(), { id, ownerId: `m${member}`, guildId: `g${guild}`, priority: front ? 1 : 0 });
  });
  return { queue, lanes };
}

/** Whether `sub` is `list` with some items left out (same relative order). */
function isSubsequence(sub: readonly string[], list: readonly string[]): boolean {
  let at = 0;
  for (const item of list) if (item === sub[at]) at++;
  return at === sub.length;
}

describe('FairQueue.takeBatch', () => {
  it('with every job compatible and room for n, takes exactly the next n jobs dequeue() would start, leaving the same state', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 40 }), fc.nat(6), fc.array(commandArb, { maxLength: 15 }), (commands, room, later) => {
        const batched = build(commands).queue;
        const oneByOne = build(commands).queue;
        const before = batched.order();
        let left = room;
        const taken = batched.takeBatch(() => left-- > 0);
        assert.deepEqual(taken, before.slice(0, room));
        for (let i = 0; i < taken.length; i++) oneByOne.dequeue();
        // The same jobs added afterwards go to the same places in both.
        const offset = commands.length;
        const [a, b] = [batched, oneByOne].map((queue) => {
          later.forEach((command, i) => {
            if ('dequeue' in command) return void queue.dequeue();
            const { member, guild, front } = command.add;
            queue.enqueue(() => Promise.resolve(), { id: `j${offset + i}`, ownerId: `m${member}`, guildId: `g${guild}`, priority: front ? 1 : 0 });
          });
          return queue.order();
        });
        assert.deepEqual(a, b);
      }),
    );
  });

  it('leaves the jobs it passes over in their order, ahead of everything behind them, and keeps each member’s jobs in order', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 50 }), fc.func(fc.boolean()), fc.nat(8), (commands, compatible, room) => {
        const { queue, lanes } = build(commands);
        const before = queue.order();
        let left = room;
        const offered: string[] = [];
        const taken = queue.takeBatch((id) => {
          offered.push(id);
          return compatible(id) && left-- > 0;
        });
        // Taken in the order they wait, each offered once.
        assert.ok(isSubsequence(taken, before));
        assert.equal(new Set(offered).size, offered.length);
        // The fairness rule's consequence: inside each guild the jobs left waiting keep their order (a passed-over
        // member is not overtaken by one who had a turn); across guilds a job moves back only behind other guilds
        // because its own guild took its turn in the batch (with another member's job).
        const after = queue.order();
        const guildOf = (id: string) => lanes.get(id)?.split('@')[1];
        const guildsServed = new Set(taken.map(guildOf));
        const waiting = before.filter((id) => !taken.includes(id));
        assert.deepEqual([...after].sort(), [...waiting].sort());
        waiting.forEach((a, i) => {
          for (const b of waiting.slice(i + 1)) {
            if (after.indexOf(b) > after.indexOf(a)) continue;
            assert.notEqual(guildOf(a), guildOf(b), `${b} overtook ${a} in their guild`);
            assert.ok(guildsServed.has(guildOf(a)), `${b} overtook ${a}, whose guild had no turn in the batch`);
          }
        });
        // Each member's jobs start in the order they came: what is taken of a member is a prefix of its jobs.
        for (const lane of new Set(lanes.values())) {
          const mine = before.filter((id) => lanes.get(id) === lane);
          const mineTaken = mine.filter((id) => taken.includes(id));
          assert.deepEqual(mineTaken, mine.slice(0, mineTaken.length), `lane ${lane}`);
        }
      }),
    );
  });

  it('never takes a job of a member who already had a turn past a member still waiting for theirs', () => {
    const queue = new FairQueue();
    const add = (id: string, ownerId: string) => queue.enqueue(() => Promise.resolve(), { id, ownerId, guildId: 'g' });
    add('ann 1', 'ann');
    add('ben 1', 'ben');
    add('cem 1', 'cem');
    add('ann 2', 'ann');
    add('dan 1', 'dan');
    add('cem 2', 'cem');
    queue.dequeue(); // ann 1 starts: ann has had her turn of this round
    // ben's job needs another model: cem and dan have not had their turn yet and may go ahead of ben in this round;
    // ann and cem, having had theirs, may not take a second one while ben waits.
    assert.deepEqual(
      queue.takeBatch((id) => id !== 'ben 1'),
      ['cem 1', 'dan 1'],
    );
    assert.deepEqual(queue.order(), ['ben 1', 'ann 2', 'cem 2']);
  });

  it('between guilds: a guild that had its turn waits for a guild passed over', () => {
    const queue = new FairQueue();
    const add = (id: string, ownerId: string, guildId: string) => queue.enqueue(() => Promise.resolve(), { id, ownerId, guildId });
    add('x ann 1', 'ann', 'x');
    add('y ben 1', 'ben', 'y');
    add('x cem 1', 'cem', 'x');
    add('z dan 1', 'dan', 'z');
    queue.dequeue(); // x ann 1
    assert.deepEqual(
      queue.takeBatch((id) => id !== 'y ben 1'),
      ['z dan 1'],
    );
    assert.deepEqual(queue.order(), ['y ben 1', 'x cem 1']);
  });

  it('takes retries and resumed jobs first, and passing one over ends the batch', () => {
    const queue = new FairQueue();
    queue.enqueue(() => Promise.resolve(), { id: 'ann 1', ownerId: 'ann', guildId: 'g' });
    queue.enqueue(() => Promise.resolve(), { id: 'retry 1', ownerId: 'ben', guildId: 'g', priority: 1 });
    queue.enqueue(() => Promise.resolve(), { id: 'retry 2', ownerId: 'cem', guildId: 'g', priority: 1 });
    assert.deepEqual(
      queue.takeBatch((id) => id !== 'retry 2'),
      ['retry 1'],
    );
    assert.deepEqual(queue.order(), ['retry 2', 'ann 1']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// JobQueue with batching: the jobs of a batch start together, each ends on its own.

interface BatchCall {
  readonly jobs: readonly BatchJob<Request>[];
  readonly finish: (index: number, result: string) => void;
  readonly fail: (index: number, error: unknown) => void;
}

/** A batch runner whose jobs end when the test says so; like the pipeline, a job stops when its signal aborts. */
class ManualBatchRunner {
  readonly batches: BatchCall[] = [];
  readonly #waiters: Array<() => void> = [];

  readonly run = (jobs: readonly BatchJob<Request>[]): Promise<string>[] => {
    const settlers: Array<{ resolve: (result: string) => void; reject: (error: unknown) => void }> = [];
    const attempts = jobs.map(
      ({ context }) =>
        new Promise<string>((resolve, reject) => {
          settlers.push({ resolve, reject });
          context.signal.addEventListener('abort', () => reject(context.signal.reason as Error), { once: true });
        }),
    );
    this.batches.push({
      jobs,
      finish: (index, result) => settlers[index]?.resolve(result),
      fail: (index, error) => settlers[index]?.reject(error),
    });
    for (const wake of this.#waiters.splice(0)) wake();
    return attempts;
  };

  async batch(index: number): Promise<BatchCall> {
    for (;;) {
      const batch = this.batches[index];
      if (batch) return batch;
      await new Promise<void>((wake) => this.#waiters.push(wake));
    }
  }
}

/** Prompts starting with "sd:" batch together, 2 rows each (count 1 with guidance); others run alone. */
function batching(runner: ManualBatchRunner, maxSize = 8): BatchSettings<Request, string> {
  return {
    keyOf: (request) => (request.prompt.startsWith('sd:') ? 'sd' : undefined),
    sizeOf: (request) => 2 * request.count,
    maxSize,
    run: runner.run,
  };
}

const prompts = (batch: BatchCall) => batch.jobs.map(({ job }) => job.payload.prompt);

describe('JobQueue with batching', () => {
  it('starts the next compatible jobs in fair order with the job whose turn it is, up to the room there is', async () => {
    const single = new ManualRunner<string>();
    const batches = new ManualBatchRunner();
    const { queue, store } = await startQueue({ runner: single.run, batching: batching(batches, 6), concurrency: 1 });
    const started: string[] = [];
    queue.on('started', ({ job }) => started.push(job.payload.prompt));
    await submitOk(queue, 'zoe', 'other model'); // holds the slot
    const accepted: Array<Awaited<ReturnType<typeof submitOk<string>>>> = [];
    for (const [owner, prompt] of [
      ['ann', 'sd: ann 1'],
      ['ann', 'sd: ann 2'],
      ['ben', 'sd: ben 1'],
      ['cem', 'sd: cem 1'],
      ['dan', 'sd: dan 1'],
    ] as const) {
      accepted.push(await submitOk(queue, owner, prompt));
    }
    (await single.call(0)).finish('done');

    const batch = await batches.batch(0);
    // Fair order is ann 1, ben 1, cem 1, dan 1, ann 2: room for 3 jobs of 2 rows.
    assert.deepEqual(prompts(batch), ['sd: ann 1', 'sd: ben 1', 'sd: cem 1']);
    assert.deepEqual(started, ['other model', 'sd: ann 1', 'sd: ben 1', 'sd: cem 1']);
    // dan 1 and ann 2 start together in the next batch: both are next in line.
    assert.deepEqual(
      ['sd: ann 1', 'sd: ben 1', 'sd: dan 1', 'sd: ann 2'].map((p) => queue.positionOf(accepted.find((a) => a.job.payload.prompt === p)?.job.id ?? '')?.position),
      [0, 0, 1, 1],
    );
    batch.finish(1, 'ben done');
    batch.finish(0, 'ann done');
    batch.finish(2, 'cem done');
    const outcomes = await Promise.all(accepted.filter((_, i) => i === 0 || i === 2 || i === 3).map((a) => a.outcome));
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'completed' ? o.result : o.status)),
      ['ann done', 'ben done', 'cem done'],
    );
    // The next batch: dan 1 and ann 2.
    assert.deepEqual(prompts(await batches.batch(1)), ['sd: dan 1', 'sd: ann 2']);
    assert.equal((await storedJobIds(store)).length, 2);
  });

  it('a job cancelled in a batch stops alone; the others finish, and the slot is held until they have', async () => {
    const single = new ManualRunner<string>();
    const batches = new ManualBatchRunner();
    const { queue } = await startQueue({ runner: single.run, batching: batching(batches), concurrency: 1 });
    const ann = await submitOk(queue, 'ann', 'sd: ann 1'); // nothing else waits yet: it runs alone, on the plain runner
    const [ben, cem, dan] = [await submitOk(queue, 'ben', 'sd: ben 1'), await submitOk(queue, 'cem', 'sd: cem 1'), await submitOk(queue, 'dan', 'sd: dan 1')];
    (await single.call(0)).finish('ann done');
    assert.equal((await ann.outcome).status, 'completed');

    const batch = await batches.batch(0);
    assert.deepEqual(prompts(batch), ['sd: ben 1', 'sd: cem 1', 'sd: dan 1']);
    const late = await submitOk(queue, 'eve', 'other model');
    assert.equal((await queue.cancel(ben.job.id, { byUserId: 'ben' })).ok, true); // the first job of the batch
    assert.equal(batch.jobs[0]?.context.signal.aborted, true);
    assert.equal(batch.jobs[1]?.context.signal.aborted, false);
    assert.equal((await ben.outcome).status, 'cancelled');
    batch.finish(1, 'cem done');
    assert.deepEqual(await cem.outcome.then((o: JobOutcome<Request, string>) => o.status === 'completed' && o.result), 'cem done');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(single.calls.length, 1, 'the slot is still the batch’s: dan runs');
    batch.fail(2, Object.assign(new Error('device lost'), { failure: { code: 'RUNTIME_ERROR', transient: false, details: {} } }));
    assert.equal((await dan.outcome).status, 'failed');
    assert.equal((await single.call(1)).job.id, late.job.id);
  });

  it('runs a job with the plain runner when nothing compatible waits, as it does jobs without a batch key', async () => {
    const single = new ManualRunner<string>();
    const batches = new ManualBatchRunner();
    const { queue } = await startQueue({ runner: single.run, batching: batching(batches), concurrency: 1 });
    await submitOk(queue, 'ann', 'plain 1');
    await submitOk(queue, 'ben', 'sd: ben 1');
    await submitOk(queue, 'cem', 'plain 2');
    (await single.call(0)).finish('done');
    const ben = await single.call(1);
    assert.equal(ben.job.payload.prompt, 'sd: ben 1');
    ben.finish('ok');
    assert.equal((await single.call(2)).job.payload.prompt, 'plain 2');
    assert.equal(batches.batches.length, 0);
  });

  it('gives each job of a batch its own time limit', async () => {
    const single = new ManualRunner<string>();
    const batches = new ManualBatchRunner();
    const { queue } = await startQueue({ runner: single.run, batching: batching(batches), concurrency: 1, jobTimeoutMs: 150 });
    await submitOk(queue, 'zoe', 'other model');
    const ann = await submitOk(queue, 'ann', 'sd: ann 1');
    const ben = await submitOk(queue, 'ben', 'sd: ben 1');
    (await single.call(0)).finish('done');
    const batch = await batches.batch(0);
    batch.finish(0, 'ann done');
    const outcome = await ben.outcome;
    assert.equal(outcome.status === 'failed' && outcome.failure.code, 'TIMED_OUT');
    assert.equal(batch.jobs[1]?.context.signal.aborted, true);
    assert.equal((await ann.outcome).status, 'completed');
  });
});
