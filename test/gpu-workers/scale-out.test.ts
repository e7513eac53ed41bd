import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { startWorkerProcess, type BotProcess } from '../support/bot-process.js';
import type { FakeMessage, InteractionHandle } from '../support/fake-discord/index.js';
import { jobIdOf, jobsLogged, waitUntil } from '../support/gpu-workers.js';
import { hasPictures, infotextOf } from '../support/pictures.js';
import { redisServerInstalled, startRedisServer } from '../support/redis-server.js';

/** A worker that dies mid-job loses it to the other after this lease (the product's default is 30 s). */
const WORKER_ENV = { WORKER_LEASE_SECONDS: '2' };
/** Long enough on the CPU to be killed in the middle. */
const SLOW = { width: 256, height: 256, steps: 40 } as const;

// Runs wherever Debian's redis-server is installed (CI installs it); the server is started here on 127.0.0.1.
if (!redisServerInstalled()) {
  console.log('# GPU worker tests not registered: redis-server is not installed (CI installs it)');
} else {
  describe('GPU workers on other machines, through BullMQ on Redis (issue 21)', () => {
    let stopRedis: () => Promise<void> = async () => {};
    let url = '';
    before(async () => {
      const redis = await startRedisServer();
      ({ url } = redis);
      stopRedis = redis.stop;
    });
    after(() => stopRedis());

    /** Two workers and the bot on the Redis, started in the test that uses them (its end stops them). */
    async function startCluster(): Promise<{ bot: BotHarness; workers: BotProcess[] }> {
      const workers = await Promise.all(['gpu-a', 'gpu-b'].map((name) => startWorkerProcess(url, name, WORKER_ENV)));
      // Four jobs a member may wait with: each member below sends four at once.
      const bot = await startBot({ env: { QUEUE_URL: url }, defaults: (d) => ({ ...d, limits: { ...d.limits, maxQueuedPerMember: 4 } }) });
      after(() => bot.stop());
      return { bot, workers };
    }

    it('answers 12 jobs from 3 members exactly once, with the pictures they asked for, on both workers', { timeout: 240_000 }, async () => {
      const { bot, workers } = await startCluster();
      const members = [bot.fake.member, bot.fake.createMember({ username: 'bob' }), bot.fake.createMember({ username: 'carol' })];
      const runs: { prompt: string; run: InteractionHandle }[] = [];
      for (const user of members) {
        for (let i = 0; i < 4; i += 1) {
          const prompt = `${user.user.username}'s picture ${i}`;
          const run = bot.fake.sendCommand({ name: 'imagine', user, options: { prompt, seed: String(i), ...FAST } });
          await run.waitForAck();
          runs.push({ prompt, run });
        }
      }
      const results = await Promise.all(runs.map(({ run }) => run.waitForOriginal(hasPictures, 200_000)));
      results.forEach((result, i) => assert.equal(infotextOf(result).prompt, runs[i]?.prompt));
      const ids = results.map(jobIdOf);
      assert.equal(new Set(ids).size, 12, 'twelve different jobs');
      const pictures = bot.fake.messagesIn().filter((message) => message.attachments.length > 0);
      assert.equal(pictures.length, 12, 'one result message per job, none twice');
      const done = workers.map((worker) => jobsLogged(worker, 'job done'));
      assert.deepEqual([...done.flat()].sort(), [...ids].sort(), 'every job ran once, on a worker');
      assert.ok(done.every((jobs) => jobs.length > 0), `both workers ran jobs: ${done.map((jobs) => jobs.length).join(' + ')}`);
      // Jobs that waited together went to a worker as one batch (issue 17), each still answered on its own.
      const batchSizes = workers.flatMap((worker) => worker.logs).filter((line) => line['msg'] === 'job started').map((line) => Number(line['batch']));
      assert.ok(batchSizes.some((size) => size > 1), `batches of ${batchSizes.join(', ')}`);
      assert.deepEqual(bot.fake.violations, []);
    });

    it('a worker killed in the middle of a job: the other one finishes it, and the member gets one result', { timeout: 120_000 }, async () => {
      const { bot, workers } = await startCluster();
      const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse in a storm', seed: '7', ...SLOW } });
      const running = (worker: BotProcess) => jobsLogged(worker, 'job started').filter((jobId) => !jobsLogged(worker, 'job done').includes(jobId));
      const started = (worker: BotProcess) => running(worker).length > 0;
      await waitUntil(() => workers.some(started), 60_000, 'a worker to start the job');
      const victim = workers.find(started);
      const survivor = workers.find((worker) => worker !== victim);
      assert.ok(victim && survivor);
      victim.child.kill('SIGKILL');
      const result = await run.waitForOriginal(hasPictures, 100_000);
      assert.ok(jobsLogged(survivor, 'job done').includes(jobIdOf(result)), 'the other worker finished it');
      assert.equal(bot.fake.messagesIn().filter((message) => jobIdOf(message) === jobIdOf(result) && message.attachments.length > 0).length, 1);
    });

    it('the bot restarted while a worker runs a job: the next start collects that run, once', { timeout: 120_000 }, async () => {
      const { bot, workers } = await startCluster();
      const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse through a restart', seed: '9', ...SLOW } });
      await waitUntil(() => workers.some((worker) => jobsLogged(worker, 'job started').length > 0), 60_000, 'a worker to start the job');
      await bot.stopBot();
      const again = await startBot({ fake: bot.fake, storeUrl: bot.storeUrl, env: { QUEUE_URL: url } });
      // Stopped here: the first bot's end (registered earlier) stops the fake Discord.
      const result = await run
        .waitFor(() => bot.fake.messagesIn().some((message) => message.attachments.length > 0), 100_000, 'the result')
        .finally(() => again.stopBot());
      const pictures = bot.fake.messagesIn().filter((message) => message.attachments.length > 0);
      assert.equal(pictures.length, 1, 'one result');
      assert.ok(result);
      const runs = workers.flatMap((worker) => jobsLogged(worker, 'job started'));
      assert.deepEqual(runs, [jobIdOf(pictures[0] as FakeMessage)], 'the job ran once: the restarted bot took the run that was under way');
    });

    it('Redis restarted (losing everything) under a running job: bot and workers reconnect, and the job is answered once', { timeout: 120_000 }, async () => {
      const { bot, workers } = await startCluster();
      const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse through an outage', seed: '10', ...SLOW } });
      await waitUntil(() => workers.some((worker) => jobsLogged(worker, 'job started').length > 0), 60_000, 'a worker to start the job');
      await stopRedis();
      const restarted = await startRedisServer(Number(new URL(url).port));
      stopRedis = restarted.stop;
      const result = await run.waitForOriginal(hasPictures, 100_000);
      assert.equal(infotextOf(result).prompt, 'a lighthouse through an outage');
      const after = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'after the outage', seed: '11', ...FAST } });
      assert.equal(infotextOf(await after.waitForOriginal(hasPictures, 60_000)).prompt, 'after the outage');
      assert.equal(bot.fake.messagesIn().filter((message) => message.attachments.length > 0).length, 2, 'each job answered once');
    });

    it('/queue shows the workers online and the job each runs, by the id the bot and the worker both log', { timeout: 120_000 }, async () => {
      const { bot, workers } = await startCluster();
      const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse on show', seed: '12', ...SLOW } });
      await waitUntil(() => workers.some((worker) => jobsLogged(worker, 'job started').length > 0), 60_000, 'a worker to start the job');
      const jobId = bot.logs.find((line) => line['msg'] === 'job accepted')?.['jobId'];
      assert.ok(typeof jobId === 'string');
      const started = workers.flatMap((worker) => worker.logs).find((line) => line['msg'] === 'job started');
      assert.equal(started?.['jobId'], jobId, "the worker's log names the job as the bot's does");
      const runner = String(started?.['worker']);
      const idle = runner === 'gpu-a' ? 'gpu-b' : 'gpu-a';
      // The bot reads the workers' registry every 2 s: ask until it has seen the job start.
      let shown = '';
      for (let asked = 0; asked < 20 && !shown.includes(jobId); asked += 1) {
        if (asked > 0) await new Promise((resolve) => setTimeout(resolve, 500));
        const reply = await bot.fake.sendCommand({ name: 'queue' }).waitForOriginal();
        assert.ok(reply.ephemeral);
        shown = reply.content;
      }
      const lines = shown.split('\n');
      assert.deepEqual(lines.slice(0, 2), ['**Queue**: 0 waiting · 1 running · 2 batches at once', '**GPU workers**: 2 online']);
      assert.deepEqual(lines.slice(2).sort(), [`• **${runner}** · cpu · tiny-sd · 1 batch at once, up to 4 pictures each · running 1: \`${jobId}\``, `• **${idle}** · cpu · tiny-sd · 1 batch at once, up to 4 pictures each · idle`].sort());
      await run.waitForOriginal(hasPictures, 100_000);
      // Every line the worker wrote while it ran the job names it.
      const logs = workers.find((worker) => jobsLogged(worker, 'job started').length > 0)?.logs ?? [];
      const during = logs.slice(logs.findIndex((line) => line['msg'] === 'job started'), logs.findIndex((line) => line['msg'] === 'job done') + 1);
      assert.deepEqual(during.map((line) => [line['msg'], line['jobId']]), [['job started', jobId], ['job done', jobId]]);
    });

    it('✖️ Cancel reaches the job running on a worker, which stops it within a step', { timeout: 120_000 }, async () => {
      const { bot, workers } = await startCluster();
      const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse to cancel', seed: '8', ...SLOW } });
      const progress = await run.waitFor((handle) => handle.original?.customIds.some((id) => id.startsWith('dc:cancel:')) === true, 30_000, 'a Cancel button');
      const cancelId = progress.original?.customIds.find((id) => id.startsWith('dc:cancel:')) ?? '';
      await waitUntil(() => workers.some((worker) => jobsLogged(worker, 'job started').length > 0), 60_000, 'a worker to start the job');
      bot.fake.clickButton({ message: progress.original as FakeMessage, customId: cancelId });
      await run.waitForOriginal((message) => /was cancelled/.test(message.content), 10_000);
      const stopped = () => workers.flatMap((worker) => worker.logs).find((line) => line['msg'] === 'job failed');
      await waitUntil(() => stopped() !== undefined, 10_000, 'the worker to stop the job');
      assert.equal((stopped()?.['failure'] as { code?: string } | undefined)?.code, 'CANCELLED');
      assert.deepEqual(workers.flatMap((worker) => jobsLogged(worker, 'job done')), [], 'it never finished');
    });
  });
}
