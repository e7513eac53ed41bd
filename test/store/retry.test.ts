import assert from 'node:assert/strict';
import { join } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { retriedOnBackendFailure, Store, StoreBackendError, StoreError } from '../../src/store/index.js';
import { tempDir } from '../support/temp-dir.js';

const Thing = z.object({ n: z.number() });
const DELAYS_MS = [1, 1];

describe('retriedOnBackendFailure: a store operation tried again only while the backend fails it', () => {
  const dir = tempDir();
  let files = 0;

  /** A real SQLite store whose trigger fails the next `times` writes of `things:a`, and a loose view of its records. */
  async function open(times: number) {
    const url = `sqlite://${join(dir, `retry-${files++}.sqlite`)}`;
    const store = await Store.open(url);
    const things = await store.collection('things', { schema: Thing, version: 1 });
    const loose = await store.collection('things', { schema: z.unknown(), version: 1 });
    await things.set('a', { n: 1 });
    const db = new KeyvSqlite({ uri: url });
    await db.query('CREATE TABLE failures_left(times INTEGER)');
    await db.query('INSERT INTO failures_left VALUES (?)', times);
    await db.query(`CREATE TRIGGER fail_write BEFORE UPDATE ON keyv
      WHEN NEW.key = 'things:a' AND (SELECT times FROM failures_left) > 0
      BEGIN
        UPDATE failures_left SET times = times - 1;
        SELECT RAISE(FAIL, 'injected store failure');
      END`);
    return {
      things,
      loose,
      close: async () => {
        await db.disconnect();
        await store.close();
      },
    };
  }

  it('tries a write the backend fails again after each delay, and lands it on a later try', async () => {
    const { things, close } = await open(DELAYS_MS.length);
    let tries = 0;
    await retriedOnBackendFailure(() => {
      tries += 1;
      return things.set('a', { n: 2 });
    }, DELAYS_MS);
    assert.equal(tries, DELAYS_MS.length + 1);
    assert.deepEqual(await things.get('a'), { n: 2 });
    await close();
  });

  it("gives up after the last delay with the backend's failure", async () => {
    const { things, close } = await open(DELAYS_MS.length + 1);
    let tries = 0;
    const write = retriedOnBackendFailure(() => {
      tries += 1;
      return things.set('a', { n: 3 });
    }, DELAYS_MS);
    await assert.rejects(write, (error) => error instanceof StoreBackendError && error.name === 'StoreBackendError' && /injected store failure/.test(error.message));
    assert.equal(tries, DELAYS_MS.length + 1);
    assert.deepEqual(await things.get('a'), { n: 1 });
    await close();
  });

  it('throws a record that does not match its schema at once: trying again cannot mend it', async () => {
    const { things, loose, close } = await open(0);
    await loose.set('b', { n: 'not a number' });
    let tries = 0;
    const read = retriedOnBackendFailure(() => {
      tries += 1;
      return things.get('b');
    }, DELAYS_MS);
    await assert.rejects(read, (error) => error instanceof StoreError && !(error instanceof StoreBackendError) && error.name === 'StoreError' && /does not match its schema/.test(error.message));
    assert.equal(tries, 1);
    await close();
  });
});
