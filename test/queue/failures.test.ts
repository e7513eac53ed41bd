import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyFailure, type FailedEvent, type Job, type JobQueue, type RetryingEvent } from '../../src/queue/index.js';
import { ManualRunner, type Request, startQueue, storedJobIds, submitOk } from './helpers.js';

/** An error carrying its failure as data, as the bot's generator throws them. */
const failing = (message: string, code: string, transient: boolean) => Object.assign(new Error(message), { failure: { code, transient, details: {} } });

/** Failures and retries a queue reports, in order. */
function watch<R>(queue: JobQueue<Request, R>): {
  failed: Array<FailedEvent<Request>>;
  retrying: Array<RetryingEvent<Request>>;
} {
  const failed: Array<FailedEvent<Request>> = [];
  const retrying: Array<RetryingEvent<Request>> = [];
  queue.on('failed', (event) => failed.push(event));
  queue.on('retrying', (event) => retrying.push(event));
  return { failed, retrying };
}

describe('failures', () => {
  it('fails a job that throws alone, with its message, and keeps serving', async () => {
    const calls: string[] = [];
    const { queue, store } = await startQueue({
      concurrency: 1,
      runner: (job) => {
        calls.push(job.payload.prompt);
        return job.payload.prompt === 'boom' ? Promise.reject(new Error('The UNet produced NaN latents.')) : Promise.resolve('image');
      },
    });
    const { failed } = watch(queue);
    const boom = await submitOk(queue, 'ann', 'boom');
    const fine = await submitOk(queue, 'ben', 'fine');

    assert.deepEqual(await boom.outcome, {
      status: 'failed',
      job: { ...boom.job, state: 'running', attempts: 1 },
      failure: { code: 'FAILED', transient: false, details: { reason: 'The UNet produced NaN latents.' } },
    });
    assert.equal((await fine.outcome).status, 'completed');
    assert.deepEqual(failed.map(({ failure }) => failure.code), ['FAILED']);
    assert.deepEqual(calls, ['boom', 'fine'], 'an ordinary error is not retried');
    assert.deepEqual(await storedJobIds(store), []);
  });

  it('stops a job that hangs past its time limit: its signal is aborted and its slot freed though it never returns', async () => {
    let hungSignal: AbortSignal | undefined;
    const { queue } = await startQueue({
      concurrency: 1,
      // Long enough that the job after it (which settles at once) never reaches it, even on a loaded machine.
      jobTimeoutMs: 500,
      runner: (job, { signal }) => {
        if (job.payload.prompt !== 'hang') return Promise.resolve('image');
        hungSignal = signal;
        return new Promise<string>(() => undefined); // ignores its signal and never settles
      },
    });
    const hang = await submitOk(queue, 'ann', 'hang');
    const next = await submitOk(queue, 'ben', 'next');

    const outcome = await hang.outcome;
    assert.deepEqual(outcome.status === 'failed' && outcome.failure, { code: 'TIMED_OUT', transient: false, details: { limitMs: 500 } });
    assert.equal(hungSignal?.aborted, true);
    assert.equal((hungSignal?.reason as DOMException).name, 'TimeoutError');
    assert.equal((await next.outcome).status, 'completed');
  });

  it('retries a job that ran out of GPU memory once, and the job waiting behind it still runs', async () => {
    const calls: Array<Job<Request>> = [];
    const { queue } = await startQueue({
      concurrency: 1,
      runner: (job) => {
        calls.push(job);
        const firstTry = job.payload.prompt === 'big' && job.attempts === 1;
        return firstTry ? Promise.reject(failing('CUDA failure 2: out of memory ; GPU=0', 'OUT_OF_MEMORY', true)) : Promise.resolve('image');
      },
    });
    const { failed, retrying } = watch(queue);
    const big = await submitOk(queue, 'ann', 'big');
    const waiting = await submitOk(queue, 'ben', 'waiting');

    const outcome = await big.outcome;

    assert.equal(outcome.status, 'completed');
    assert.deepEqual(retrying.map(({ failure }) => failure), [{ code: 'OUT_OF_MEMORY', transient: true, details: {} }]);
    assert.deepEqual(failed, []);
    // The retry goes to the front of the waiting jobs; a job p-queue starts in the same tick as the failure
    // (before the retry is queued) may still run first, so only the attempts of `big` are asserted here.
    assert.deepEqual(calls.filter((job) => job.payload.prompt === 'big').map((job) => job.attempts), [1, 2]);
    assert.equal((await waiting.outcome).status, 'completed');
  });

  it('fails a job whose transient failure happens twice: each transient failure is retried once', async () => {
    const calls: string[] = [];
    const { queue } = await startQueue({
      concurrency: 1,
      runner: (job) => {
        calls.push(job.payload.prompt);
        const error = job.payload.prompt === 'huge' ? failing('std::bad_alloc', 'OUT_OF_MEMORY', true) : failing('The model is still loading.', 'LOADING', true);
        return Promise.reject(error);
      },
    });
    const { failed, retrying } = watch(queue);
    const huge = await submitOk(queue, 'ann', 'huge');
    const flaky = await submitOk(queue, 'ben', 'flaky');
    await Promise.all([huge.outcome, flaky.outcome]);

    // Each job runs exactly twice; the order between them depends on when p-queue starts the next job relative to
    // the retry being queued (see the test above), so it is not asserted.
    assert.deepEqual([...calls].sort(), ['flaky', 'flaky', 'huge', 'huge']);
    assert.deepEqual(retrying.map(({ failure }) => failure.code).sort(), ['LOADING', 'OUT_OF_MEMORY']);
    const byPrompt = (a: { job: Job<Request> }, b: { job: Job<Request> }) => a.job.payload.prompt.localeCompare(b.job.payload.prompt);
    assert.deepEqual([...failed].sort(byPrompt).map(({ failure, job }) => [job.payload.prompt, failure.code, job.attempts]), [
      ['flaky', 'LOADING', 2],
      ['huge', 'OUT_OF_MEMORY', 2],
    ]);
  });

  it('classifies by the failure an error carries, never by its message', () => {
    const carried = failing('Pipeline step 12 failed.', 'OUT_OF_MEMORY', true);
    assert.deepEqual(classifyFailure(carried), { code: 'OUT_OF_MEMORY', transient: true, details: {} });
    // Words that look like out-of-memory do not make a failure transient: only its code and flag count.
    const words = new Error('Failed to allocate memory for requested buffer of size 1073741824');
    assert.deepEqual(classifyFailure(words), { code: 'FAILED', transient: false, details: { reason: words.message } });
    assert.deepEqual(classifyFailure('plain string'), { code: 'FAILED', transient: false, details: { reason: 'plain string' } });
    assert.deepEqual(classifyFailure(undefined), { code: 'FAILED', transient: false, details: { reason: 'no reason given' } });
  });

  it('fails a waiting job that can never run as data: its place, its record and its owner\'s count are freed, the others go on', async () => {
    const runner = new ManualRunner<string>();
    const { queue, store } = await startQueue({ runner: runner.run, concurrency: 1, maxQueuedPerUser: 1 });
    const seen = watch(queue);
    const running = await submitOk(queue, 'ann', 'ann 1');
    const doomed = await submitOk(queue, 'ben', 'ben 1');
    const after = await submitOk(queue, 'cem', 'cem 1');
    const first = await runner.call(0);
    const failure = { code: 'NO_WORKER', transient: false, details: { model: 'tiny-sd', waitedMs: 600_000 } };

    assert.deepEqual(queue.waiting(), [
      { job: doomed.job, position: 1, etaMs: queue.positionOf(doomed.job.id)?.etaMs },
      { job: after.job, position: 2, etaMs: queue.positionOf(after.job.id)?.etaMs },
    ]);
    assert.equal(await queue.failWaiting(doomed.job.id, failure), true);

    assert.deepEqual(await doomed.outcome, { status: 'failed', job: doomed.job, failure });
    assert.deepEqual(seen.failed, [{ job: doomed.job, failure }]);
    assert.equal((await storedJobIds(store)).includes(doomed.job.id), false);
    assert.equal(queue.positionOf(after.job.id)?.position, 1);
    assert.equal(await queue.failWaiting(doomed.job.id, failure), false, 'not waiting any more');
    assert.equal(await queue.failWaiting(running.job.id, failure), false, 'a running job is not failed this way');
    await submitOk(queue, 'ben', 'ben 2'); // within ben's limit of 1 waiting job again
    first.finish('done');
    assert.equal((await runner.call(1)).job.id, after.job.id, 'the failed job never runs');
  });
});
