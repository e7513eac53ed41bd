import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { JobRecord } from '../../src/jobs/job-record.js';
import { JobRecords } from '../../src/jobs/job-records.js';
import { Store, StoreBackendError, StoreError } from '../../src/store/index.js';
import { TINY_REQUEST } from '../support/requests.js';
import { tempDir } from '../support/temp-dir.js';

const RECORD: JobRecord = {
  id: 'job-1',
  request: TINY_REQUEST,
  origin: { userId: '100000000000000001', userName: 'alice', guildId: '200000000000000001', channelId: '300000000000000001', via: 'command' },
  notices: [],
  createdAt: 1,
  status: 'queued',
};

describe('JobRecords.end', () => {
  const dir = tempDir();

  it('keeps no end the store refuses for its schema: the record reads as stored and its next change lands', async () => {
    const store = await Store.open(`sqlite://${join(dir, 'records.sqlite')}`);
    const records = await JobRecords.open(store);
    await records.change(RECORD.id, (record) => record, RECORD);

    // A failure code that is not a string: the schema refuses the record, which no later try can mend.
    const badEnd = (record: JobRecord): JobRecord => ({ ...record, status: 'failed', failure: { code: 42 as unknown as string } });
    await assert.rejects(
      records.end(RECORD.id, badEnd),
      (error) => error instanceof StoreError && !(error instanceof StoreBackendError) && /does not match its schema/.test(error.message),
    );

    assert.equal((await records.get(RECORD.id))?.status, 'queued');
    const cancelled = await records.change(RECORD.id, (record) => ({ ...record, status: 'cancelled' }));
    assert.deepEqual(cancelled, { record: { ...RECORD, status: 'cancelled' }, changed: true });
    await store.close();
  });
});
