// Issue 17 item 3 on GPU workers: the bot hands a worker compatible jobs as one handover, which the worker runs as
// one UNet batch in one slot. Real redis-server on 127.0.0.1, real `dreamcord worker` processes on the tiny model.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { Queue } from 'bullmq';
import type { GeneratedImages, GenerateOptions } from '../../src/generator/generator.js';
import type { GenerationRequest } from '../../src/generator/request.js';
import { handoverResultSchema, redisOptions, workQueueOf } from '../../src/gpu-workers/protocol.js';
import { RemoteGenerator } from '../../src/gpu-workers/remote-generator.js';
import { QueueClosing } from '../../src/queue/index.js';
import { createLogger } from '../../src/log.js';
import { startWorkerProcess, type BotProcess } from '../support/bot-process.js';
import { jobsLogged, waitUntil } from '../support/gpu-workers.js';
import { describeWithRedis } from '../support/redis-server.js';
import { TINY_REQUEST } from '../support/requests.js';

/** Compatible jobs (one batch key): different prompts, seeds and counts; 2 UNet rows per picture. */
const JOBS: readonly GenerationRequest[] = [
  { ...TINY_REQUEST, steps: 4, prompt: 'a lighthouse at dusk', seed: '11' },
  { ...TINY_REQUEST, steps: 4, prompt: 'a red fox in the snow', negative: 'blurry', seed: '4242' },
  { ...TINY_REQUEST, steps: 4, prompt: 'a castle on a hill', seed: '7', count: 2 },
];
/** Long enough on the CPU to cancel one job, or kill its worker, in the middle. */
const SLOW = { width: 256, height: 256, steps: 40 } as const;

const options = (jobId: string, signal = new AbortController().signal, onProgress: GenerateOptions['onProgress'] = () => undefined): GenerateOptions => ({
  signal,
  onProgress,
  jobId,
});

/** `(worker, jobIds)` for each 'job started' line of a worker: the size of the batch it ran the job in. */
const batchSizes = (worker: BotProcess, jobIds: readonly string[]): number[] =>
  worker.logs.filter((line) => line['msg'] === 'job started' && jobIds.includes(String(line['jobId']))).map((line) => Number(line['batch']));

describeWithRedis('GPU workers run a handover of compatible jobs as one batch (issue 17)', (redisUrl) => {
  // One worker (a second joins for the last case) and the bot's generator for the cases below, run as subtests
  // (the processes end with the test that started them).
  it('a worker with the tiny model, and the bot handing it batches', { timeout: 600_000 }, async (t) => {
    const worker = await startWorkerProcess(redisUrl(), 'gpu-a', { WORKER_LEASE_SECONDS: '2' });
    const generator = await RemoteGenerator.connect(redisUrl(), createLogger({ level: 'silent' }));
    after(() => generator.close());

    await t.test('each picture of a batch is the one its job makes alone, bit for bit, and the batch ran as one', { timeout: 180_000 }, async () => {
      assert.equal(generator.batchRowsOf('tiny-sd'), 8, "the worker's BATCH_MAX_ROWS (its default), as it registered it");
      const batchIds = JOBS.map((_, i) => `batch-${i}`);
      const batched = await Promise.all(generator.generateBatch(JOBS.map((request, i) => ({ request, options: options(batchIds[i] ?? '') })), 8));
      const alone: GeneratedImages[] = [];
      for (const [i, request] of JOBS.entries()) alone.push(await generator.generate(request, options(`alone-${i}`)));
      assert.deepEqual(batchSizes(worker, batchIds), [3, 3, 3], 'the three jobs started in one batch');
      batched.forEach((result, i) => {
        const own = alone[i];
        assert.ok(own);
        assert.deepEqual(result.images.map(({ seed, parameters }) => [seed, parameters]), own.images.map(({ seed, parameters }) => [seed, parameters]));
        result.images.forEach(({ image }, k) => assert.ok(Buffer.from(image.data).equals(Buffer.from(own.images[k]?.image.data ?? [])), `job ${i} picture ${k}: identical bytes`));
      });
      assert.equal(batched[2]?.images.length, 2);
    });

    await t.test('cancelling one job of a batch stops it alone: the others finish', { timeout: 180_000 }, async () => {
      const ids = ['cancel-0', 'cancel-1', 'cancel-2'];
      const controller = new AbortController();
      let stepsOfCancelled = 0;
      const jobs = JOBS.map((request, i) => ({
        request: { ...request, ...SLOW, count: 1 },
        options: i === 1 ? options(ids[i] ?? '', controller.signal, () => (stepsOfCancelled += 1)) : options(ids[i] ?? ''),
      }));
      const runs = generator.generateBatch(jobs, 8);
      await waitUntil(() => stepsOfCancelled >= 2, 120_000, 'the batch to make progress');
      controller.abort(new DOMException('The job was cancelled.', 'AbortError'));
      const [first, cancelled, third] = await Promise.allSettled(runs);
      assert.equal(cancelled?.status, 'rejected');
      assert.equal(first?.status === 'fulfilled' && first.value.images.length, 1);
      assert.equal(third?.status === 'fulfilled' && third.value.images.length, 1);
      await waitUntil(() => jobsLogged(worker, 'job failed').includes('cancel-1'), 10_000, 'the worker to end the cancelled job');
      assert.deepEqual(jobsLogged(worker, 'job done').filter((id) => ids.includes(id)).sort(), ['cancel-0', 'cancel-2']);
    });

    await t.test('a handover a worker does not understand fails as data, whole or per job, and the worker goes on', { timeout: 120_000 }, async () => {
      const queue = new Queue(workQueueOf('tiny-sd'), { connection: redisOptions(redisUrl()) });
      after(() => queue.close());
      /** The worker's answer to a BullMQ job of `data`, read by polling its state (an event may pass unseen). */
      const answerTo = async (data: unknown) => {
        const { id = '' } = await queue.add('generate', data);
        for (let waitedMs = 0; (await queue.getJobState(id)) !== 'completed'; waitedMs += 100) {
          if (waitedMs > 60_000) assert.fail('the worker did not answer within 60 s');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return handoverResultSchema.parse((await queue.getJob(id))?.returnvalue);
      };
      const whole = await answerTo({ request: TINY_REQUEST, inputs: {} }); // a single job as the last version sent it
      assert.deepEqual(whole, { ok: false, failure: { code: 'INVALID_REQUEST', transient: false, details: { field: 'jobs' } } });
      const mixed = await answerTo({ maxRows: 8, jobs: [{ jobId: 'good', work: { request: TINY_REQUEST, inputs: {} } }, { jobId: 'bad', work: { request: { ...TINY_REQUEST, steps: -1 }, inputs: {} } }] });
      assert.ok('jobs' in mixed);
      assert.equal((mixed.jobs['good'] as { ok: boolean }).ok, true);
      assert.deepEqual(mixed.jobs['bad'], { ok: false, failure: { code: 'INVALID_REQUEST', transient: false, details: { field: 'request.steps' } } });
      const next = await generator.generate(TINY_REQUEST, options('after-bad'));
      assert.equal(next.images.length, 1);
    });

    await t.test('the bot restarted while a worker runs a batch: each job joins that run, however it is batched again', { timeout: 180_000 }, async () => {
      const ids = ['restart-0', 'restart-1', 'restart-2'];
      const slow = (i: number) => ({ ...(JOBS[i] ?? TINY_REQUEST), ...SLOW, count: 1 });
      const shutdown = new AbortController();
      const before = generator.generateBatch(ids.map((id, i) => ({ request: slow(i), options: options(id, shutdown.signal) })), 8);
      await waitUntil(() => jobsLogged(worker, 'job started').some((id) => ids.includes(id)), 60_000, 'the worker to start the batch');
      // The bot shuts down as its queue does (running jobs are left to their worker), and starts again.
      shutdown.abort(new QueueClosing());
      assert.ok((await Promise.allSettled(before)).every(({ status }) => status === 'rejected'));
      const restarted = await RemoteGenerator.connect(redisUrl(), createLogger({ level: 'silent' }));
      after(() => restarted.close());
      // After the restart the jobs fall into other batches: two together, one alone.
      const again = [...restarted.generateBatch([2, 0].map((i) => ({ request: slow(i), options: options(ids[i] ?? '') })), 8), restarted.generate(slow(1), options(ids[1] ?? ''))];
      assert.deepEqual((await Promise.all(again)).map(({ images }) => images.length), [1, 1, 1]);
      assert.deepEqual(jobsLogged(worker, 'job started').filter((id) => ids.includes(id)).sort(), ids, 'each job ran once, in the batch under way');
    });

    await t.test('a worker killed in the middle of a batch: another worker runs the whole batch, each job answered once', { timeout: 240_000 }, async () => {
      const first = worker;
      const second = await startWorkerProcess(redisUrl(), 'gpu-b', { WORKER_LEASE_SECONDS: '2' });
      await waitUntil(() => generator.workers.length === 2, 10_000, 'the bot to see both workers');
      const ids = ['killed-0', 'killed-1', 'killed-2'];
      const runs = generator.generateBatch(JOBS.map((request, i) => ({ request: { ...request, ...SLOW, count: 1 }, options: options(ids[i] ?? '') })), 8);
      const started = (worker: BotProcess) => jobsLogged(worker, 'job started').some((id) => ids.includes(id));
      await waitUntil(() => started(first) || started(second), 60_000, 'a worker to start the batch');
      const [victim, survivor] = started(first) ? [first, second] : [second, first];
      victim.child.kill('SIGKILL');
      const results = await Promise.all(runs);
      assert.deepEqual(results.map((result) => result.images.length), [1, 1, 1]);
      assert.deepEqual(jobsLogged(survivor, 'job done').filter((id) => ids.includes(id)).sort(), ids, 'the other worker ran every job of the batch');
      assert.deepEqual(batchSizes(survivor, ids), [3, 3, 3], 'as one batch again');
    });
  });
});
