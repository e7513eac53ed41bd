import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { projectFinishes, remainingMs } from '../../src/queue/eta.js';
import type { PositionEvent, ProgressEvent, QueuedEvent, StartedEvent } from '../../src/queue/index.js';
import { FakeClock, ManualRunner, type Request, startQueue, submitOk } from './helpers.js';

describe('positions and ETAs', () => {
  it('tells each job its position and ETA, learns from finished jobs, and reports moves, starts and progress', async () => {
    const clock = new FakeClock();
    const runner = new ManualRunner<string>();
    // Each test job is 1,000 cost units, so 1 ms per unit makes it 1 s until the queue has measured one.
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1, initialMsPerUnit: 1, now: clock.now });
    const queued: Array<QueuedEvent<Request>> = [];
    const started: Array<StartedEvent<Request>> = [];
    const progress: Array<ProgressEvent<Request>> = [];
    queue.on('queued', (event) => queued.push(event));
    queue.on('started', (event) => started.push(event));
    queue.on('progress', (event) => progress.push(event));

    const first = await submitOk(queue, 'ann', 'ann 1');
    const second = await submitOk(queue, 'ben', 'ben 1');
    const third = await submitOk(queue, 'cem', 'cem 1');

    assert.deepEqual(
      [first, second, third].map(({ position, etaMs }) => ({ position, etaMs })),
      [
        { position: 0, etaMs: 1000 }, // started at once
        { position: 1, etaMs: 2000 },
        { position: 2, etaMs: 3000 },
      ],
    );
    assert.deepEqual(
      queued.map(({ job, position }) => [job.id, position]),
      [first, second, third].map(({ job, position }) => [job.id, position]),
    );

    const running = await runner.call(0);
    clock.advance(400);
    assert.deepEqual(queue.positionOf(second.job.id), { position: 1, etaMs: 1600 });
    running.context.reportProgress(8, 10); // 80 % in 400 ms: 100 ms to go at that pace
    assert.deepEqual(
      progress.map(({ step, total, etaMs }) => ({ step, total, etaMs })),
      [{ step: 8, total: 10, etaMs: 100 }],
    );
    assert.deepEqual(queue.positionOf(second.job.id), { position: 1, etaMs: 1100 });
    assert.throws(() => running.context.reportProgress(11, 10), /Expected `step` to be at most `total` \(10\), got 11/);

    clock.advance(100);
    const moved = once(queue, 'position') as Promise<[PositionEvent<Request>]>;
    running.finish('image');
    const [move] = await moved;

    // The first job took 500 ms for 1,000 units: 0.5 ms per unit from now on.
    assert.deepEqual({ id: move.job.id, previous: move.previous, position: move.position, etaMs: move.etaMs }, {
      id: third.job.id,
      previous: 2,
      position: 1,
      etaMs: 1000,
    });
    await runner.call(1);
    assert.deepEqual(
      started.map(({ job, waitedMs, expectedMs }) => [job.id, waitedMs, expectedMs]),
      [
        [first.job.id, 0, 1000],
        [second.job.id, 500, 500],
      ],
    );
    assert.deepEqual(queue.stats(), {
      queued: 1,
      running: 1,
      concurrency: 1,
      maxBatchSize: 1, // no batching: every job alone
      msPerUnit: 0.5,
      recentJobs: 1,
      avgRunMs: 500,
      avgWaitMs: 0,
    });
  });

  it("tells waiting jobs when a newcomer's turn puts them further back", async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1 });
    const moves: Array<PositionEvent<Request>> = [];
    queue.on('position', (event) => moves.push(event));
    await submitOk(queue, 'ann', 'ann 1'); // running
    const second = await submitOk(queue, 'ann', 'ann 2');
    const third = await submitOk(queue, 'ann', 'ann 3');

    const newcomer = await submitOk(queue, 'ben', 'ben 1');
    await new Promise((resolve) => setImmediate(resolve)); // position events go out a microtask after a change

    assert.equal(newcomer.position, 1);
    assert.deepEqual(
      moves.map(({ job, previous, position }) => [job.id, previous, position]),
      [
        [second.job.id, 1, 2],
        [third.job.id, 2, 3],
      ],
    );
  });

  it('projects finishes onto the first free slot, extrapolating running jobs from their progress', () => {
    // Two slots: one busy for 300 ms more, one free.
    assert.deepEqual(projectFinishes([300], 2, [100, 100, 500, 100]), [100, 200, 700, 400]);
    assert.deepEqual(projectFinishes([], 1, []), []);
    assert.equal(remainingMs(1000, 250, 0), 750); // no progress yet: expected less elapsed
    assert.equal(remainingMs(1000, 1500, 0), 0); // late: never negative
    assert.equal(remainingMs(1000, 300, 0.75), 100); // 75 % in 300 ms
  });
});
