import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualRunner, startQueue, submitOk } from './helpers.js';

describe('concurrency', () => {
  it('runs as many jobs at once as there are GPU slots, and no more', async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 2 });
    const jobs = [];
    for (const owner of ['ann', 'ben', 'cem']) jobs.push(await submitOk(queue, owner, `${owner} 1`));

    const [first, second] = await Promise.all([runner.call(0), runner.call(1)]);

    assert.deepEqual(
      { running: queue.stats().running, queued: queue.stats().queued, calls: runner.calls.length },
      { running: 2, queued: 1, calls: 2 },
    );
    assert.deepEqual(
      jobs.map(({ position }) => position),
      [0, 0, 1],
    );
    second.finish('image');
    assert.equal((await runner.call(2)).job.payload.prompt, 'cem 1');
    assert.equal(first.context.signal.aborted, false);
  });

  it('never exceeds its slots under a burst of jobs that finish in random order', async () => {
    let inFlight = 0;
    let most = 0;
    // Jobs wait for every submission, so that the burst really finds the slots busy.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const { queue } = await startQueue({
      concurrency: 2,
      maxQueuedPerUser: 10,
      runner: async () => {
        most = Math.max(most, ++inFlight);
        await gate;
        for (let i = Math.floor(Math.random() * 4); i >= 0; i--) await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return 'image';
      },
    });
    const accepted = [];
    for (let i = 0; i < 20; i++) accepted.push(await submitOk(queue, `member ${i % 4}`, `job ${i}`));
    openGate();

    const outcomes = await Promise.all(accepted.map(({ outcome }) => outcome));

    assert.ok(outcomes.every(({ status }) => status === 'completed'));
    assert.equal(most, 2);
  });
});
