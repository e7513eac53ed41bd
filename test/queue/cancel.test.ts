import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CancelledEvent } from '../../src/queue/index.js';
import { ManualRunner, type Request, startQueue, storedJobIds, submitOk } from './helpers.js';

describe('cancel', () => {
  it('lets the owner remove a waiting job: it never runs, its record is gone, and the others move up', async () => {
    const runner = new ManualRunner<string>();
    const { queue, store } = await startQueue({ runner: runner.run, concurrency: 1 });
    const cancelled: Array<CancelledEvent<Request>> = [];
    queue.on('cancelled', (event) => cancelled.push(event));
    await submitOk(queue, 'ann', 'ann 1'); // running
    const doomed = await submitOk(queue, 'ben', 'ben 1');
    const after = await submitOk(queue, 'cem', 'cem 1');

    const result = await queue.cancel(doomed.job.id, { byUserId: 'ben' });

    assert.deepEqual(result, { ok: true, job: doomed.job, wasRunning: false });
    assert.deepEqual(cancelled, [{ job: doomed.job, byUserId: 'ben', wasRunning: false }]);
    assert.deepEqual(await doomed.outcome, { status: 'cancelled', job: doomed.job, byUserId: 'ben', wasRunning: false });
    assert.equal((await storedJobIds(store)).includes(doomed.job.id), false);
    assert.deepEqual(queue.positionOf(after.job.id)?.position, 1);
    (await runner.call(0)).finish('done');
    assert.equal((await runner.call(1)).job.id, after.job.id);
    assert.equal(runner.calls.length, 2);
  });

  it("refuses a stranger, lets a moderator cancel anyone's job, and refuses cancelling twice or an unknown job", async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1 });
    await submitOk(queue, 'ann', 'ann 1');
    const waiting = await submitOk(queue, 'ben', 'ben 1');

    const stranger = await queue.cancel(waiting.job.id, { byUserId: 'cem' });
    assert.deepEqual(stranger, {
      ok: false,
      code: 'NOT_OWNER',
      message: 'Only the member who asked for this job, or a moderator, can cancel it.',
    });
    assert.equal(queue.get(waiting.job.id)?.state, 'queued');

    assert.equal((await queue.cancel(waiting.job.id, { byUserId: 'cem', isModerator: true })).ok, true);
    assert.equal((await queue.cancel(waiting.job.id, { byUserId: 'ben' }).then((r) => !r.ok && r.code)), 'ALREADY_DONE');
    assert.deepEqual(await queue.cancel('no-such-job', { byUserId: 'ben' }), {
      ok: false,
      code: 'NOT_FOUND',
      message: 'There is no job no-such-job waiting or running.',
    });
  });

  it('aborts the signal of a running job, which the runner sees; the slot goes to the next job when it stops', async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1 });
    const running = await submitOk(queue, 'ann', 'ann 1');
    const next = await submitOk(queue, 'ben', 'ben 1');
    const call = await runner.call(0);

    const result = await queue.cancel(running.job.id, { byUserId: 'ann' });

    assert.equal(result.ok && result.wasRunning, true);
    assert.equal(call.context.signal.aborted, true);
    assert.equal((call.context.signal.reason as DOMException).name, 'AbortError');
    assert.equal((await running.outcome).status, 'cancelled');
    assert.equal((await runner.call(1)).job.id, next.job.id);
    assert.equal((await queue.cancel(running.job.id, { byUserId: 'ann' }).then((r) => !r.ok && r.code)), 'ALREADY_DONE');
  });

  it('keeps the slot of a cancelled job whose runner has not stopped yet (as its inspection shows), and drops its late result', async () => {
    let finishLate: (value: string) => void = () => undefined;
    let slowStarted: () => void = () => undefined;
    const slowRunning = new Promise<void>((resolve) => (slowStarted = resolve));
    const calls: string[] = [];
    const { queue } = await startQueue({
      concurrency: 1,
      runner: (job) => {
        calls.push(job.payload.prompt);
        if (job.payload.prompt === 'slow') slowStarted();
        // The first job ignores its signal (a pipeline step that takes a while); the others finish at once.
        return job.payload.prompt === 'slow' ? new Promise<string>((resolve) => (finishLate = resolve)) : Promise.resolve('ok');
      },
    });
    const completed: string[] = [];
    queue.on('completed', ({ job }) => completed.push(job.payload.prompt));
    const slow = await submitOk(queue, 'ann', 'slow');
    const next = await submitOk(queue, 'ben', 'next');
    // The runner starts after the start is recorded: a cancel before that (a loaded machine) would test the other case.
    await slowRunning;

    await queue.cancel(slow.job.id, { byUserId: 'ann' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual({ calls, running: queue.stats().running }, { calls: ['slow'], running: 1 });
    // What a report on the job left waiting shows: the slot is held by a job already cancelled.
    const { running, waiting, slots, waitingCount } = queue.inspect();
    assert.deepEqual(
      { running: running.map(({ id, status }) => ({ id, status })), waiting: waiting.map(({ id, position }) => ({ id, position })), slots, waitingCount },
      { running: [{ id: slow.job.id, status: 'cancelled' }], waiting: [{ id: next.job.id, position: 1 }], slots: { taken: 1, tasksWaiting: 1, paused: false }, waitingCount: 1 },
    );

    finishLate('late image');
    await next.outcome;
    assert.deepEqual({ calls, completed }, { calls: ['slow', 'next'], completed: ['next'] });
  });
});
