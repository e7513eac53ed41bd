// `/queue`'s capacity counts batches (issue 17): a slot runs one batch, one job or several compatible ones, so the
// reply says how many batches run at once and how many pictures one holds, for the bot's own GPU and each worker;
// a slot whose batch holds one picture runs jobs, and the queue's line counts the slots as the places' lines do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queueText } from '../../../src/discord/commands/queue.js';
import type { GpuStatus } from '../../../src/generator/gpu-status.js';

/** Queue stats with `concurrency` slots and batches of up to `maxBatchSize` UNet rows. */
const stats = (concurrency: number, maxBatchSize: number) => ({
  queued: 3,
  running: 2,
  concurrency,
  maxBatchSize,
  msPerUnit: 1,
  recentJobs: 0,
  avgRunMs: 0,
  avgWaitMs: 0,
});

const gpu = (worker: string | undefined, capacity: number, batchRows?: number): GpuStatus => ({
  worker,
  provider: 'cuda',
  models: ['sd15'],
  capacity,
  batchRows,
  running: 0,
  jobIds: [],
});

describe('/queue capacity', () => {
  it("counts the bot's own slots as batches, with the pictures a batch holds (2 UNet rows each)", () => {
    assert.equal(
      queueText(stats(2, 8), [gpu(undefined, 2)]),
      "**Queue**: 3 waiting · 2 running · 2 batches at once\n**GPU**: this bot's own · cuda · sd15 · 2 batches at once, up to 4 pictures each · idle",
    );
  });

  it('counts jobs where a batch holds one picture at most (batching off)', () => {
    assert.equal(queueText(stats(1, 1), [gpu(undefined, 1)]), "**Queue**: 3 waiting · 2 running · 1 job at once\n**GPU**: this bot's own · cuda · sd15 · 1 job at once · idle");
  });

  it('counts the queue\'s slots as the places count theirs: jobs where every worker runs its jobs alone', () => {
    const lines = queueText(stats(3, 8), [gpu('a', 2, 2), gpu('b', 1, 1)]).split('\n');
    assert.deepEqual(lines, [
      '**Queue**: 3 waiting · 2 running · 3 jobs at once',
      '**GPU workers**: 2 online',
      '• **a** · cuda · sd15 · 2 jobs at once · idle',
      '• **b** · cuda · sd15 · 1 job at once · idle',
    ]);
  });

  it('counts the slots from the settings while no worker is online', () => {
    assert.equal(queueText(stats(0, 8), []), '**Queue**: 3 waiting · 2 running · 0 batches at once\n**GPU workers**: none online; jobs wait until one registers.');
  });

  it("gives each worker the room the bot fills its batches to: the smaller of the bot's and its own", () => {
    const lines = queueText(stats(4, 8), [gpu('big', 1, 16), gpu('small', 2, 4), gpu('solo', 1, 0)]).split('\n');
    assert.deepEqual(lines, [
      '**Queue**: 3 waiting · 2 running · 3 batches and 1 job at once',
      '**GPU workers**: 3 online',
      '• **big** · cuda · sd15 · 1 batch at once, up to 4 pictures each · idle',
      '• **small** · cuda · sd15 · 2 batches at once, up to 2 pictures each · idle',
      '• **solo** · cuda · sd15 · 1 job at once · idle',
    ]);
  });
});
