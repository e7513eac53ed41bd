// Issue 21 with issue 16's models: GPU workers each with their own models. The bot offers the models the workers
// online have, hands a job only to a worker with its model, and a job whose model has no free worker holds up no one.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { startBot, FAST } from '../support/bot-harness.js';
import { startWorkerProcess } from '../support/bot-process.js';
import { TINY_SDXL } from '../support/checkpoint-files.js';
import { jobIdOf, jobsLogged, waitUntil } from '../support/gpu-workers.js';
import { hasPictures, infotextOf } from '../support/pictures.js';
import { describeWithRedis } from '../support/redis-server.js';
import { processTempDir } from '../support/temp-dir.js';

/** Long enough on the CPU for other jobs to come and go meanwhile. */
const SLOW = { width: 256, height: 256, steps: 40 } as const;

describeWithRedis('GPU workers with different models (issue 21)', (redisUrl) => {
  // One cluster for the cases below, run as its subtests (the processes end with it): gpu-sd has the tiny SD 1.5
  // model (an ONNX folder), gpu-xl the tiny SDXL checkpoint (converted at its first start, into a cache kept for its
  // restart); the last case replaces both with gpu-both, which has the two.
  it('workers with a model each, then one with both', { timeout: 600_000 }, async (t) => {
    const cacheDir = join(processTempDir(), 'model-cache');
    const startXl = () => startWorkerProcess(redisUrl(), 'gpu-xl', { MODEL_DIR: TINY_SDXL, MODEL_CACHE_DIR: cacheDir, WORKER_LEASE_SECONDS: '2' });
    const [sd, first] = await Promise.all([startWorkerProcess(redisUrl(), 'gpu-sd', { WORKER_LEASE_SECONDS: '2' }), startXl()]);
    let xl = first;
    const bot = await startBot({ env: { QUEUE_URL: redisUrl() }, defaults: (d) => ({ ...d, limits: { ...d.limits, maxQueuedPerMember: 4 } }) });
    after(() => bot.stop());

    /** Waits until the bot's registry read has the workers with `models` online (it reads it every 2 s). */
    const offered = async (models: readonly string[]) => {
      for (let asked = 0; ; asked += 1) {
        const run = bot.fake.sendAutocomplete({ name: 'imagine', options: { prompt: 'a fox', model: '' }, focused: 'model' });
        await run.waitForAck();
        const values = run.choices?.map((choice) => choice.value) ?? [];
        if (JSON.stringify(values) === JSON.stringify(models)) return;
        if (asked > 40) assert.deepEqual(values, models);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };

    /** Waits until `/queue` counts `count` workers online. */
    const workersOnline = async (count: number) => {
      for (let asked = 0; ; asked += 1) {
        const reply = await bot.fake.sendCommand({ name: 'queue' }).waitForOriginal();
        const line = reply.content.split('\n')[1];
        if (line === `**GPU workers**: ${count} online`) return;
        if (asked > 40) assert.equal(line, `**GPU workers**: ${count} online`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };

    await t.test("offers the union of the workers' models, and /queue shows each worker's", async () => {
      await offered(['tiny-sd', 'tiny-sdxl']);
      const reply = await bot.fake.sendCommand({ name: 'queue' }).waitForOriginal();
      const lines = reply.content.split('\n');
      assert.equal(lines[1], '**GPU workers**: 2 online');
      assert.deepEqual(lines.slice(2).sort(), ['• **gpu-sd** · cpu · tiny-sd · 1 batch at once, up to 4 pictures each · idle', '• **gpu-xl** · cpu · tiny-sdxl · 1 batch at once, up to 4 pictures each · idle']);
    });

    await t.test('runs each job on the worker that has its model, exactly once', { timeout: 180_000 }, async () => {
      const members = [bot.fake.member, bot.fake.createMember({ username: 'bob' })];
      const runs = members.flatMap((user) =>
        ['tiny-sd', 'tiny-sdxl', 'tiny-sd', 'tiny-sdxl'].map((model, i) => ({
          model,
          run: bot.fake.sendCommand({ name: 'imagine', user, options: { prompt: `${user.user.username} ${model} ${i}`, model, seed: String(i), ...FAST } }),
        })),
      );
      const results = await Promise.all(runs.map(({ run }) => run.waitForOriginal(hasPictures, 150_000)));
      results.forEach((result, i) => assert.equal(infotextOf(result).model, runs[i]?.model));
      const idsFor = (model: string) => results.filter((_, i) => runs[i]?.model === model).map(jobIdOf).sort();
      assert.deepEqual(jobsLogged(sd, 'job done').sort(), idsFor('tiny-sd'), 'the SD jobs ran on gpu-sd, each once');
      assert.deepEqual(jobsLogged(xl, 'job done').sort(), idsFor('tiny-sdxl'), 'the SDXL jobs ran on gpu-xl, each once');
      assert.equal(bot.fake.messagesIn().filter(hasPictures).length, 8, 'one result message per job');
      assert.deepEqual(bot.fake.violations, []);
    });

    await t.test("a job whose model's only worker is busy holds up no job of another model", { timeout: 180_000 }, async () => {
      const before = jobsLogged(sd, 'job done').length;
      const slow = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a slow lighthouse', model: 'tiny-sd', seed: '1', ...SLOW } });
      await waitUntil(() => jobsLogged(sd, 'job started').length > before, 60_000, 'gpu-sd to start the slow job');
      // Next in the fair order: bob's SD job (no room: gpu-sd is busy), then carol's SDXL job.
      const waiting = bot.fake.sendCommand({ name: 'imagine', user: bot.fake.createMember({ username: 'bob' }), options: { prompt: 'after the lighthouse', model: 'tiny-sd', ...FAST } });
      await waiting.waitForOriginal((message) => /next in line/.test(message.content), 30_000);
      const other = bot.fake.sendCommand({ name: 'imagine', user: bot.fake.createMember({ username: 'carol' }), options: { prompt: 'meanwhile', model: 'tiny-sdxl', ...FAST } });
      const done = await other.waitForOriginal(hasPictures, 60_000);
      assert.equal(jobsLogged(sd, 'job done').length, before, 'the SDXL job finished while the slow SD job still ran');
      assert.ok(jobsLogged(xl, 'job done').includes(jobIdOf(done)));
      const [waited, slowed] = await Promise.all([waiting.waitForOriginal(hasPictures, 120_000), slow.waitForOriginal(hasPictures, 120_000)]);
      assert.deepEqual(jobsLogged(sd, 'job started').slice(-2), [jobIdOf(slowed), jobIdOf(waited)], 'the waiting SD job ran on gpu-sd after the slow one');
    });

    await t.test("a job whose model's only worker left waits for it and finishes when it comes back; a model no worker has is refused", { timeout: 180_000 }, async () => {
      xl.child.kill('SIGTERM');
      await xl.exited;
      await workersOnline(1);
      const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'while gpu-xl is away', model: 'tiny-sdxl', ...FAST } });
      const waiting = await run.waitForOriginal((message) => /next in line/.test(message.content), 30_000);
      assert.match(waiting.content, /next in line · waiting for a GPU worker with `tiny-sdxl` \(none is online; the last left \d+ s ago\)/);
      // Nothing is handed over meanwhile: a few registry reads later there is still no result.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      assert.equal(run.original?.attachments.length, 0, 'no result while no worker has the model');
      xl = await startXl();
      const result = await run.waitForOriginal(hasPictures, 90_000);
      assert.ok(jobsLogged(xl, 'job done').includes(jobIdOf(result)), 'the worker that came back ran it');
      const refused = await bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'x', model: 'tiny-sd3' } }).waitForFollowUp();
      assert.match(refused.content, /^There is no model called tiny-sd3; there are: tiny-sd, tiny-sdxl\./);
    });

    await t.test('a worker with both models runs one job at a time over both (its capacity is shared)', { timeout: 180_000 }, async () => {
      // gpu-both: tiny-sd as MODEL_DIR, and MODELS_DIR with the SDXL checkpoint (converted already, in the cache).
      const models = join(processTempDir(), 'models');
      mkdirSync(models);
      copyFileSync(TINY_SDXL, join(models, 'tiny-sdxl.safetensors'));
      const both = await startWorkerProcess(redisUrl(), 'gpu-both', { MODELS_DIR: models, MODEL_CACHE_DIR: cacheDir });
      for (const worker of [sd, xl]) worker.child.kill('SIGTERM');
      await Promise.all([sd.exited, xl.exited]);
      await workersOnline(1);
      const slow = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a slow heron', model: 'tiny-sd', ...SLOW } });
      await waitUntil(() => jobsLogged(both, 'job started').length > 0, 60_000, 'gpu-both to start the SD job');
      const other = bot.fake.sendCommand({ name: 'imagine', user: bot.fake.createMember({ username: 'dan' }), options: { prompt: 'a quick heron', model: 'tiny-sdxl', ...FAST } });
      const [slowed, quick] = await Promise.all([slow.waitForOriginal(hasPictures, 120_000), other.waitForOriginal(hasPictures, 120_000)]);
      const order = both.logs.filter((line) => line['msg'] === 'job started' || line['msg'] === 'job done').map((line) => [line['msg'], line['jobId']]);
      assert.deepEqual(order, [
        ['job started', jobIdOf(slowed)],
        ['job done', jobIdOf(slowed)],
        ['job started', jobIdOf(quick)],
        ['job done', jobIdOf(quick)],
      ]);
      assert.equal(infotextOf(quick).model, 'tiny-sdxl');
    });
  });
});
