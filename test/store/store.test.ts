import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { Store, StoreError, type CollectionSchema } from '../../src/store/index.js';
import { redisServerInstalled, startRedisServer } from '../support/redis-server.js';
import { tempDir } from '../support/temp-dir.js';

const Job = z.object({ id: z.string(), prompt: z.string(), steps: z.number().int() });
type Job = z.infer<typeof Job>;
const jobs: CollectionSchema<Job> = { schema: Job, version: 2 };

/** The behaviour every backend must show; run once per backend below. */
function storeContract(openStore: () => Promise<Store>): void {
  it('round-trips records and lists them by collection', async () => {
    const store = await openStore();
    after(() => store.close());
    const a = await store.collection('jobs', jobs);
    const b = await store.collection('settings', { schema: z.object({ steps: z.number() }), version: 1 });
    await a.set('j1', { id: 'j1', prompt: 'a fox', steps: 20 });
    await a.set('j2', { id: 'j2', prompt: 'a 🦊, "quoted"', steps: 30 });
    await b.set('g1', { steps: 12 });
    assert.deepEqual(await a.get('j2'), { id: 'j2', prompt: 'a 🦊, "quoted"', steps: 30 });
    assert.equal(await a.get('missing'), undefined);
    const listed = [];
    for await (const entry of a.entries()) listed.push(entry);
    assert.deepEqual(listed.map(([key]) => key).sort(), ['j1', 'j2']);
    assert.equal(await a.delete('j1'), true);
    assert.equal(await a.delete('j1'), false);
    assert.deepEqual(await b.get('g1'), { steps: 12 });
  });

  it('refuses to write a record that does not match the schema', async () => {
    const store = await openStore();
    after(() => store.close());
    const a = await store.collection('jobs', jobs);
    await assert.rejects(a.set('bad', { id: 'bad', prompt: 'x', steps: 1.5 }), StoreError);
  });
}

describe('Store on SQLite', () => {
  const dir = tempDir();
  const url = `sqlite://${join(dir, 'nested', 'dreamcord.sqlite')}`;
  storeContract(() => Store.open(url));

  it('keeps records across a close and a reopen, in a WAL-mode file', async () => {
    const first = await Store.open(url);
    await (await first.collection('jobs', jobs)).set('kept', { id: 'kept', prompt: 'p', steps: 5 });
    await first.close();
    assert.ok(existsSync(join(dir, 'nested', 'dreamcord.sqlite')));
    const second = await Store.open(url);
    after(() => second.close());
    assert.deepEqual(await (await second.collection('jobs', jobs)).get('kept'), { id: 'kept', prompt: 'p', steps: 5 });
    assert.ok(existsSync(join(dir, 'nested', 'dreamcord.sqlite-wal')), 'the WAL file exists while the store is open');
  });

  it('migrates records of an older schema version and rejects newer ones', async () => {
    const store = await Store.open(url);
    after(() => store.close());
    const v1 = await store.collection('legacy', { schema: z.object({ prompt: z.string() }), version: 1 });
    await v1.set('old', { prompt: 'kept prompt' });
    const v2 = await store.collection('legacy', {
      schema: Job,
      version: 2,
      migrate: (data) => ({ id: 'old', prompt: (data as { prompt: string }).prompt, steps: 20 }),
    });
    assert.deepEqual(await v2.get('old'), { id: 'old', prompt: 'kept prompt', steps: 20 });
    await v2.set('new', { id: 'new', prompt: 'p', steps: 1 });
    await assert.rejects(v1.get('new'), /schema version 2; this release reads version 1/);
  });

  it('rejects a store URL it does not understand, naming the variable', async () => {
    await assert.rejects(Store.open('postgres://localhost/db'), /Expected `STORE_URL` to start with sqlite:\/\/ or redis:\/\//);
    await assert.rejects(Store.open('sqlite://'), /empty file name/);
  });
});

// Runs wherever Debian's redis-server is installed (CI installs it); the server is started here on 127.0.0.1.
if (redisServerInstalled()) {
  describe('Store on Redis', () => {
    let stop: (() => Promise<void>) | undefined;
    let url = '';
    const ready = startRedisServer().then((server) => {
      url = server.url;
      stop = server.stop;
    });
    after(() => stop?.());
    storeContract(async () => {
      await ready;
      return Store.open(url);
    });
  });
} else {
  console.log('# Redis store tests not registered: redis-server is not installed (CI installs it)');
}
