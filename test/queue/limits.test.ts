import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobQueue } from '../../src/queue/index.js';
import { Store } from '../../src/store/index.js';
import { costOf, ManualRunner, request, Request, sqliteUrl, startQueue, submitOk } from './helpers.js';

describe('limits', () => {
  it('refuses a member over the per-member limit of waiting jobs at once, with the limit; running jobs do not count', async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1, maxQueuedPerUser: 3 });
    for (let i = 1; i <= 4; i++) await submitOk(queue, 'ann', `ann ${i}`); // the first one is running

    const refused = await queue.submit({ ownerId: 'ann', guildId: 'guild-1', payload: request('ann 5') });

    assert.deepEqual(refused, {
      ok: false,
      code: 'USER_LIMIT',
      message: 'You already have 3 jobs waiting (the limit is 3).',
      limit: 3,
    });
    await submitOk(queue, 'ben', 'ben 1'); // others are not affected
    assert.equal(queue.stats().queued, 4);
  });

  it("applies a guild's own per-member limit passed with the request", async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1, maxQueuedPerUser: 5 });
    await submitOk(queue, 'ann', 'ann 1'); // running
    await submitOk(queue, 'ann', 'ann 2');

    const refused = await queue.submit({ ownerId: 'ann', guildId: 'guild-1', payload: request('ann 3'), maxQueuedPerUser: 1 });

    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.message, 'You already have 1 job waiting (the limit is 1).');
  });

  it('refuses everyone once the queue holds its global cap, and accepts again when a place frees', async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1, maxQueued: 2 });
    await submitOk(queue, 'ann', 'ann 1'); // running
    const waiting = await submitOk(queue, 'ben', 'ben 1');
    await submitOk(queue, 'cem', 'cem 1');

    const refused = await queue.submit({ ownerId: 'dan', guildId: 'guild-2', payload: request('dan 1') });
    assert.deepEqual(refused, {
      ok: false,
      code: 'QUEUE_FULL',
      message: 'The queue is full (2 jobs waiting). Please try again in a few minutes.',
      limit: 2,
    });

    await queue.cancel(waiting.job.id, { byUserId: 'ben' });
    await submitOk(queue, 'dan', 'dan 1');
  });

  it('counts submissions whose record is still being written', async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1, maxQueuedPerUser: 2 });
    await submitOk(queue, 'ann', 'running');

    const results = await Promise.all([1, 2, 3].map((i) => queue.submit({ ownerId: 'ann', guildId: 'g', payload: request(`ann ${i}`) })));

    assert.deepEqual(
      results.map((result) => result.ok || result.code),
      [true, true, 'USER_LIMIT'],
    );
  });

  it('refuses new jobs while closing, and treats a bad payload, cost or limit as a bug', async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1 });

    await assert.rejects(queue.submit({ ownerId: 'ann', guildId: 'g', payload: { prompt: 'x' } as Request }), /matches the queue's schema/);
    await assert.rejects(
      queue.submit({ ownerId: 'ann', guildId: 'g', payload: request('x'), maxQueuedPerUser: 0 }),
      /Expected `maxQueuedPerUser` to be an integer from 1 up, got `0` \(number\)/,
    );
    await queue.close();
    const refused = await queue.submit({ ownerId: 'ann', guildId: 'g', payload: request('late') });
    assert.equal(!refused.ok && refused.code, 'SHUTTING_DOWN');
  });

  it('checks its options and its lifecycle', async () => {
    const store = await Store.open(sqliteUrl());
    try {
      const base = { store, payloadSchema: Request, costOf, runner: () => Promise.resolve('') };
      await assert.rejects(JobQueue.open({ ...base, concurrency: 0 }), /Expected `concurrency` to be an integer from 1 up, got `0`/);
      await assert.rejects(JobQueue.open({ ...base, jobTimeoutMs: 1.5 }), /Expected `jobTimeoutMs` to be an integer from 1 up/);
      const zeroCost = await JobQueue.open({ ...base, costOf: () => ({ steps: 0, pixels: 1, count: 1 }) });
      await assert.rejects(zeroCost.submit({ ownerId: 'ann', guildId: 'g', payload: request('x') }), /Call JobQueue.start\(\) before submit/);
      await zeroCost.start();
      await assert.rejects(zeroCost.start(), /called twice/);
      await assert.rejects(zeroCost.submit({ ownerId: 'ann', guildId: 'g', payload: request('x') }), /Expected `cost.steps` to be an integer from 1 up/);
      await zeroCost.close();
    } finally {
      await store.close();
    }
  });
});
