import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import type { JobTicket } from '../../src/jobs/job-record.js';
import { JobRecords } from '../../src/jobs/job-records.js';
import { RecordJournal } from '../../src/jobs/queue-journal.js';
import type { Job } from '../../src/queue/index.js';
import { Store } from '../../src/store/index.js';
import { tempDir } from '../support/temp-dir.js';
import { TINY_REQUEST } from '../support/requests.js';

const TICKET: JobTicket = {
  request: TINY_REQUEST,
  origin: { userId: '100000000000000001', userName: 'alice', guildId: null, channelId: '300000000000000001', via: 'command' },
  notices: [],
};

/** A job as the queue hands it to its journal. */
function queued(id: string, seq: number): Job<JobTicket> {
  return {
    id,
    ownerId: TICKET.origin.userId,
    guildId: 'direct-messages',
    channelId: TICKET.origin.channelId,
    payload: TICKET,
    cost: { steps: 2, pixels: 4096, count: 1 },
    seq,
    acceptedAt: 1_700_000_000_000 + seq,
    attempts: 0,
    state: 'queued',
  };
}

describe('RecordJournal: the queue writes its facts on the one job record', () => {
  const dir = tempDir();
  let files = 0;
  const url = () => `sqlite://${join(dir, `journal-${files++}.sqlite`)}`;

  async function open(at: string) {
    const store = await Store.open(at);
    const records = await JobRecords.open(store);
    return { store, records, journal: await RecordJournal.open(store, records) };
  }

  it('writes the record when a job is accepted, keeps its state and attempts on it, and clears them with its end', async () => {
    const at = url();
    const { store, records, journal } = await open(at);
    const job = queued('job-a', 0);
    await journal.put(job);
    assert.deepEqual(await records.get('job-a'), {
      id: 'job-a',
      ...TICKET,
      createdAt: job.acceptedAt,
      status: 'queued',
      queue: { cost: job.cost, seq: 0, attempts: 0, state: 'queued' },
    });
    await journal.put({ ...job, state: 'running', attempts: 1 });
    assert.deepEqual((await records.get('job-a'))?.queue, { cost: job.cost, seq: 0, attempts: 1, state: 'running' });
    await store.close();

    const reopened = await open(at);
    assert.deepEqual(await reopened.journal.load(), [{ ...job, state: 'running', attempts: 1 }], 'the next start finds it as it was');
    await reopened.journal.delete('job-a');
    assert.equal((await reopened.records.get('job-a'))?.queue?.state, 'running', 'the facts stay until the end is stored');
    assert.equal((await reopened.journal.load()).length, 1, 'a restart now would resume the job');
    await reopened.journal.end('job-a', (record) => ({ ...record, status: 'cancelled' }));
    const record = await reopened.records.get('job-a');
    assert.equal(record?.queue, undefined);
    assert.equal(record?.status, 'cancelled', 'the end and the facts went in one write');
    assert.deepEqual(await reopened.journal.load(), []);
    await reopened.store.close();
  });

  it('clears the facts of a job handed to the delivery in the write that hands it, and resumes no such record', async () => {
    const at = url();
    const { store, records, journal } = await open(at);
    await journal.put({ ...queued('job-b', 0), state: 'running', attempts: 1 });
    await records.change('job-b', (record) => ({ ...record, status: 'undelivered' }));
    assert.equal((await records.get('job-b'))?.queue, undefined);
    await journal.delete('job-b');
    assert.deepEqual(await journal.load(), []);

    // A record an older bot left with its facts on it after its delivery was stored.
    const raw = await store.collection('jobs', { schema: z.unknown(), version: 1 });
    await journal.put({ ...queued('job-c', 1), state: 'running', attempts: 1 });
    await raw.set('job-c', { ...(await records.get('job-c')), status: 'completed' });
    assert.deepEqual(await journal.load(), [], 'a record that left the queue is not resumed');
    await store.close();
  });

  it('takes over the jobs an older bot left in its queue-jobs collection, once', async () => {
    const at = url();
    const store = await Store.open(at);
    const legacy = await store.collection('queue-jobs', { schema: z.unknown(), version: 1 });
    await legacy.set('old-1', { ...queued('old-1', 7), state: 'running', attempts: 1 });
    await legacy.set('old-2', queued('old-2', 8));
    await store.close();

    const { store: reopened, records, journal } = await open(at);
    const loaded = (await journal.load()).sort((a, b) => a.seq - b.seq);
    assert.deepEqual(loaded.map((job) => [job.id, job.seq, job.state, job.attempts]), [
      ['old-1', 7, 'running', 1],
      ['old-2', 8, 'queued', 0],
    ]);
    assert.equal((await records.get('old-2'))?.request.prompt, 'a lighthouse at dusk');
    const left: unknown[] = [];
    const emptied = await reopened.collection('queue-jobs', { schema: z.unknown(), version: 1 });
    for await (const entry of emptied.entries()) left.push(entry);
    assert.deepEqual(left, [], 'the old collection is emptied');
    await reopened.close();
  });

  it('drops an index entry whose record carries no queue facts (a crash between two writes)', async () => {
    const at = url();
    const store = await Store.open(at);
    const live = await store.collection('queue-live', { schema: z.number(), version: 1 });
    await live.set('never-written', 3);
    await store.close();

    const reopened = await open(at);
    assert.deepEqual(await reopened.journal.load(), []);
    const left: unknown[] = [];
    const index = await reopened.store.collection('queue-live', { schema: z.number(), version: 1 });
    for await (const entry of index.entries()) left.push(entry);
    assert.deepEqual(left, []);
    await reopened.store.close();
  });
});
