import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualRunner, startQueue, submitOk } from './helpers.js';

/** Lets every job finish as soon as it starts and returns the prompts in start order. */
async function startOrder(runner: ManualRunner<string>, jobs: number): Promise<string[]> {
  const prompts: string[] = [];
  for (let i = 0; i < jobs; i++) {
    const call = await runner.call(i);
    prompts.push(call.job.payload.prompt);
    call.finish('done');
  }
  return prompts;
}

describe('fair order', () => {
  it("runs everyone else before a member's second job: 3 members, one with 10 jobs", async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1, maxQueuedPerUser: 10 });
    for (let i = 1; i <= 10; i++) await submitOk(queue, 'alice', `alice ${i}`);
    await submitOk(queue, 'bob', 'bob 1');
    await submitOk(queue, 'carol', 'carol 1');

    const order = await startOrder(runner, 12);

    assert.deepEqual(order, ['alice 1', 'bob 1', 'carol 1', ...Array.from({ length: 9 }, (_, i) => `alice ${i + 2}`)]);
    for (const other of ['bob 1', 'carol 1']) {
      const aliceAhead = order.slice(0, order.indexOf(other)).filter((prompt) => prompt.startsWith('alice'));
      assert.ok(aliceAhead.length <= 1, `${other} waited behind ${aliceAhead.length} of alice's jobs`);
    }
  });

  it('takes turns across guilds first, then across the members of each guild, as positions predicted', async () => {
    const runner = new ManualRunner<string>();
    const { queue } = await startQueue({ runner: runner.run, concurrency: 1, maxQueuedPerUser: 5 });
    const jobs = [];
    for (let i = 1; i <= 5; i++) jobs.push(await submitOk(queue, 'ann', `ann ${i}`, 'guild-1'));
    for (let i = 1; i <= 5; i++) jobs.push(await submitOk(queue, 'ben', `ben ${i}`, 'guild-1'));
    for (let i = 1; i <= 2; i++) jobs.push(await submitOk(queue, 'cem', `cem ${i}`, 'guild-2'));
    const predicted = jobs
      .map(({ job }) => ({ prompt: job.payload.prompt, position: queue.positionOf(job.id)?.position ?? -1 }))
      .sort((a, b) => a.position - b.position)
      .map(({ prompt }) => prompt);

    const order = await startOrder(runner, 12);

    assert.deepEqual(order, ['ann 1', 'cem 1', 'ben 1', 'cem 2', 'ann 2', 'ben 2', 'ann 3', 'ben 3', 'ann 4', 'ben 4', 'ann 5', 'ben 5']);
    assert.deepEqual(predicted, order, 'positions predicted the start order (the running job has position 0)');
  });
});
