import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JobQueue, type FailedEvent, type Job, type ResumedEvent } from '../../src/queue/index.js';
import { jobSchema } from '../../src/queue/job.js';
import { Store } from '../../src/store/index.js';
import { costOf, ManualRunner, Request, request, sqliteUrl, startQueue, storedJobIds, submitOk } from './helpers.js';

/** Opens a queue on `url` that records what it resumes and runs, and starts it. */
async function reopen(url: string): Promise<{
  queue: JobQueue<Request, string>;
  store: Store;
  resumed: Array<ResumedEvent<Request>>;
  failed: Array<FailedEvent<Request>>;
  runs: Array<Job<Request>>;
}> {
  const resumed: Array<ResumedEvent<Request>> = [];
  const failed: Array<FailedEvent<Request>> = [];
  const runs: Array<Job<Request>> = [];
  const store = await Store.open(url);
  const queue = await JobQueue.open<Request, string>({
    store,
    payloadSchema: Request,
    costOf,
    runner: (job) => {
      runs.push(job);
      return Promise.resolve('image');
    },
  });
  queue.on('resumed', (event) => resumed.push(event));
  queue.on('failed', (event) => failed.push(event));
  await queue.start();
  return { queue, store, resumed, failed, runs };
}

/** Waits until every resumed job has ended (`outcomeOf` is undefined once it has), then closes the queue and store. */
async function finish(reopened: Awaited<ReturnType<typeof reopen>>): Promise<void> {
  await Promise.all(reopened.resumed.map(({ job }) => reopened.queue.outcomeOf(job.id) ?? Promise.resolve()));
  await reopened.queue.close();
  await reopened.store.close();
}

describe('restart', () => {
  it('resumes after a close mid-run: the running job first, the rest in their order, each completing once', async () => {
    const url = sqliteUrl();
    const runner = new ManualRunner<string>();
    const { queue, store } = await startQueue({ runner: runner.run, concurrency: 1 }, url);
    const completed: string[] = [];
    queue.on('completed', ({ job }) => completed.push(job.id));
    const accepted = [];
    for (const [owner, prompt] of [['ann', 'a1'], ['ben', 'b1'], ['ann', 'a2'], ['cem', 'c1'], ['ben', 'b2']] as const) {
      accepted.push(await submitOk(queue, owner, prompt));
    }
    (await runner.call(0)).finish('image'); // a1
    const interrupted = await runner.call(1); // b1, running when the queue closes

    await queue.close({ drain: false });
    await store.close();

    assert.equal(interrupted.context.signal.aborted, true);
    assert.deepEqual(
      await Promise.all(accepted.map(({ outcome }) => outcome.then((o) => o.status))),
      ['completed', 'suspended', 'suspended', 'suspended', 'suspended'],
    );

    const reopened = await reopen(url);
    await finish(reopened);

    const [a1, b1, ...rest] = accepted.map(({ job }) => job);
    assert.deepEqual(
      reopened.resumed.map(({ job, wasRunning, position }) => [job.payload.prompt, wasRunning, position]),
      [
        ['b1', true, 1],
        ['a2', false, 2],
        ['c1', false, 3],
        ['b2', false, 4],
      ],
    );
    assert.deepEqual(reopened.resumed[0]?.job, { ...b1, state: 'queued' }, 'the request came back intact');
    assert.deepEqual(reopened.runs.find((job) => job.id === b1?.id)?.attempts, 1, 'a close does not use up the retry');
    const allRuns = [...completed, ...reopened.runs.map((job) => job.id)].sort();
    assert.deepEqual(allRuns, [a1, b1, ...rest].map((job) => job?.id).sort(), 'every job completed exactly once');
    const check = await Store.open(url);
    assert.deepEqual(await storedJobIds(check), []);
    await check.close();
  });

  it('resumes the job that was running when the process was killed, and loses none', { timeout: 30_000 }, async () => {
    const url = sqliteUrl();
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('crash-child.ts', import.meta.url)), url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    after(() => child.kill('SIGKILL')); // should the test fail before its own kill
    const accepted = new Map<string, string>();
    const completedBefore: string[] = [];
    let hanging: string | undefined;
    const exited = new Promise((resolve) => child.once('close', resolve));
    for await (const line of createInterface({ input: child.stdout })) {
      const [what, id = '', prompt = ''] = line.split(' ');
      if (what === 'accepted') accepted.set(id, prompt);
      if (what === 'completed') completedBefore.push(id);
      if (what === 'hanging') hanging = id;
      // Killed once all four are accepted, the third hangs, and the first two have been reported done (their
      // records are deleted before 'completed').
      if (hanging !== undefined && accepted.size === 4 && completedBefore.length === 2 && !child.killed) child.kill('SIGKILL');
    }
    await exited;

    const reopened = await reopen(url);
    await finish(reopened);

    const prompts = (ids: readonly string[]): string[] => ids.map((id) => accepted.get(id) ?? id);
    assert.deepEqual(prompts(completedBefore), ['first', 'second']);
    assert.deepEqual(
      reopened.resumed.map(({ job, wasRunning }) => [job.payload.prompt, wasRunning, job.attempts]),
      [
        ['hangs', true, 1],
        ['fourth', false, 0],
      ],
    );
    assert.deepEqual(prompts(reopened.runs.map((job) => job.id)), ['hangs', 'fourth']);
    assert.equal(reopened.runs[0]?.attempts, 2, 'the crash counted as an attempt');
    assert.deepEqual([...completedBefore, ...reopened.runs.map((job) => job.id)].sort(), [...accepted.keys()].sort());
  });

  it('fails, and tells the owner about, a job that was running on its last attempt when the bot stopped', async () => {
    const url = sqliteUrl();
    const store = await Store.open(url);
    const records = await store.collection('queue-jobs', { schema: jobSchema(Request), version: 1 });
    const base = { ownerId: 'ann', guildId: 'guild-1', cost: costOf(request('x')), acceptedAt: 0 };
    await records.set('twice', { ...base, id: 'twice', payload: request('twice'), seq: 0, attempts: 2, state: 'running' });
    await records.set('once', { ...base, id: 'once', payload: request('once'), seq: 1, attempts: 1, state: 'running' });
    await store.close();

    const reopened = await reopen(url);
    await finish(reopened);

    assert.deepEqual(
      reopened.failed.map(({ job, failure }) => [job.id, failure]),
      [['twice', { code: 'INTERRUPTED', transient: false, details: { attempts: 2 } }]],
    );
    assert.deepEqual(reopened.runs.map((job) => [job.id, job.attempts]), [['once', 2]]);
    const check = await Store.open(url);
    assert.deepEqual(await storedJobIds(check), []);
    await check.close();
  });
});
