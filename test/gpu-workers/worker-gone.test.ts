// Issue 21's forget window end to end: the model's only GPU worker goes away while members' jobs wait; after
// WORKER_GONE_SECONDS each ends as failure data (NO_WORKER) with a plain sentence, its place and its owner's count
// are freed, and it never runs when a worker comes back. Also the two ways a job could wait for a worker that is not
// there: a dead worker's registry entry read at the bot's start, and a job handed over that no worker takes.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { WORKERS_KEY, handoverKeyOf, workQueueOf } from '../../src/gpu-workers/protocol.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { startWorkerProcess } from '../support/bot-process.js';
import { jobIdOf, jobsLogged, waitUntil } from '../support/gpu-workers.js';
import { hasPictures, infotextOf } from '../support/pictures.js';
import { describeWithRedis } from '../support/redis-server.js';

/** Long enough on the CPU (a few seconds) for the worker to be killed in the middle. */
const SLOW = { width: 256, height: 256, steps: 40 } as const;
/** The forget window: longer than the bot takes to see a silent worker gone (3 heartbeats), short for a test. */
const GONE_SECONDS = 10;

describeWithRedis('GPU workers that do not come back (issue 21)', (redisUrl) => {
  /** The bot on the Redis, with one waiting job a member may have (queueing again proves the count was freed). */
  const startRemoteBot = () =>
    startBot({ env: { QUEUE_URL: redisUrl(), WORKER_GONE_SECONDS: String(GONE_SECONDS) }, defaults: (d) => ({ ...d, limits: { ...d.limits, maxQueuedPerMember: 1 } }) });

  /** The failure of `userId`'s job, as the bot logged it. */
  const failureOf = (bot: BotHarness, userId: string) => {
    const line = bot.logs.find((entry) => entry['msg'] === 'job failed' && entry['userId'] === userId);
    return { jobId: String(line?.['jobId']), code: (line?.['failure'] as { code?: string } | undefined)?.code };
  };

  it('jobs waiting for the lost worker end as NO_WORKER after the window, free their places, and never run later', { timeout: 300_000 }, async (t) => {
    const startWorker = () => startWorkerProcess(redisUrl(), 'gpu-only', { WORKER_LEASE_SECONDS: '2' });
    const worker = await startWorker();
    const bot = await startRemoteBot();
    t.after(() => bot.stop());
    const [alice, bob, carol] = [bot.fake.member, bot.fake.createMember({ username: 'bob' }), bot.fake.createMember({ username: 'carol' })];

    // Bob's slow job takes the worker's only slot; Alice's (naming the model) and Carol's (the bot's default, the
    // same model) wait.
    const slow = bot.fake.sendCommand({ name: 'imagine', user: bob, options: { prompt: 'a slow lighthouse', seed: '1', ...SLOW } });
    await waitUntil(() => jobsLogged(worker, 'job started').length > 0, 60_000, 'the worker to start the slow job');
    const named = bot.fake.sendCommand({ name: 'imagine', user: alice, options: { prompt: 'a fox that waits', model: 'tiny-sd', ...FAST } });
    const unnamed = bot.fake.sendCommand({ name: 'imagine', user: carol, options: { prompt: 'an owl that waits', ...FAST } });
    await waitUntil(() => bot.logs.filter((line) => line['msg'] === 'job accepted').length === 3, 30_000, 'the waiting jobs to be accepted');

    // The machine goes away mid-job: its heartbeat stops, its registry entry stays as it was (the bot sees it gone
    // 3 heartbeats later), and the waiting jobs say what they wait for.
    worker.child.kill('SIGKILL');
    await worker.exited;
    const waitingText = /waiting for a GPU worker with `tiny-sd` \(none is online; the last left \d+ s ago\)/;
    await Promise.all([named, unnamed].map((run) => run.waitForOriginal((message) => waitingText.test(message.content), 30_000)));

    // The window set, as promised (not the moment past it when a registry read found it over).
    const ended = (run: typeof named) => run.waitForOriginal((message) => /job failed: No GPU worker/.test(message.content), (GONE_SECONDS + 30) * 1000);
    for (const end of await Promise.all([ended(named), ended(unnamed)])) {
      assert.match(end.content, new RegExp(`job failed: No GPU worker with \`tiny-sd\` came back within ${GONE_SECONDS} s, so this job was ended\\. Pick another model, or try again once the worker is back\\.`));
    }
    const endedIds = [alice, carol].map((member) => failureOf(bot, member.user.id));
    assert.deepEqual(endedIds.map(({ code }) => code), ['NO_WORKER', 'NO_WORKER']);
    const queue = await bot.fake.sendCommand({ name: 'queue' }).waitForOriginal();
    assert.match(queue.content, /^\*\*Queue\*\*: 0 waiting · 1 running/, "their places are freed (Bob's job, lost with the worker, still runs)");

    // The worker comes back: it takes Bob's job over (its lease expired), Alice may queue again, and the ended jobs
    // are never handed over.
    const back = await startWorker();
    await waitUntil(() => bot.logs.filter((line) => line['msg'] === 'GPU worker online').length === 2, 30_000, 'the bot to see the worker back');
    const again = bot.fake.sendCommand({ name: 'imagine', user: alice, options: { prompt: 'a fox once more', model: 'tiny-sd', ...FAST } });
    const [slowed, result] = await Promise.all([slow.waitForOriginal(hasPictures, 180_000), again.waitForOriginal(hasPictures, 180_000)]);
    assert.equal(infotextOf(slowed).prompt, 'a slow lighthouse');
    assert.equal(infotextOf(result).prompt, 'a fox once more');
    assert.deepEqual(jobsLogged(back, 'job started').sort(), [jobIdOf(slowed), jobIdOf(result)].sort(), 'the worker ran the two live jobs only');
    assert.ok(endedIds.every(({ jobId }) => !jobsLogged(back, 'job started').includes(jobId)));
    assert.deepEqual(bot.fake.violations, []);
    back.child.kill('SIGTERM');
    await back.exited;
  });

  it("a dead worker's registry entry is not taken for a live one; a job handed over that no worker takes ends as NO_WORKER", { timeout: 180_000 }, async (t) => {
    // A worker killed without a chance to leave the registry: its last entry stays there as it was.
    const dead = await startWorkerProcess(redisUrl(), 'gpu-dead');
    const redis = new Redis(redisUrl());
    t.after(() => redis.disconnect());
    const entry = await redis.hget(WORKERS_KEY, 'gpu-dead');
    dead.child.kill('SIGKILL');
    await dead.exited;
    assert.ok(entry);
    // A worker that beats but takes nothing (its queue connection broken, say): the bot hands it a job.
    const beat = () => redis.hset(WORKERS_KEY, 'gpu-mute', JSON.stringify({ ...JSON.parse(entry), name: 'gpu-mute', seenAt: Date.now() }));
    await beat();
    const beating = setInterval(() => void beat(), 500);
    t.after(() => clearInterval(beating));

    const bot = await startRemoteBot();
    t.after(() => bot.stop());
    const queue = await bot.fake.sendCommand({ name: 'queue' }).waitForOriginal();
    assert.deepEqual(queue.content.split('\n').slice(1), ['**GPU workers**: 1 online', '• **gpu-mute** · cpu · tiny-sd · 1 batch at once, up to 4 pictures each · idle'], 'the dead worker is not online');

    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a fox handed over', model: 'tiny-sd', ...FAST } });
    await run.waitForOriginal((message) => /step 0\//.test(message.content), 30_000);
    clearInterval(beating);
    await redis.hdel(WORKERS_KEY, 'gpu-mute');
    const ended = await run.waitForOriginal((message) => /job failed: No GPU worker/.test(message.content), (GONE_SECONDS + 30) * 1000);
    assert.match(ended.content, new RegExp(`No GPU worker with \`tiny-sd\` came back within ${GONE_SECONDS} s, so this job was ended\\.`));
    const { jobId, code } = failureOf(bot, bot.fake.member.user.id);
    assert.equal(code, 'NO_WORKER');
    const handedOver = new Queue(workQueueOf('tiny-sd'), { connection: { host: '127.0.0.1', port: Number(new URL(redisUrl()).port) } });
    t.after(() => handedOver.close());
    const handoverId = await redis.get(handoverKeyOf(jobId));
    assert.ok(handoverId, 'the handover that carried the job is recorded by its id');
    assert.equal(await handedOver.getJobState(handoverId), 'unknown', 'the job is taken back from its queue, so no worker runs it later');
  });
});
