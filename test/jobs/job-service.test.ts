import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import KeyvSqlite from '@keyv/sqlite';
import { after, before, describe, it } from 'node:test';
import { DEFAULTS_PATH, readDefaults } from '../../src/config/index.js';
import { ContentScreen } from '../../src/jobs/content-screen.js';
import { WorkerClassifier } from '../../src/content/content-classifier.js';
import type { GenerateOptions, GeneratedImages, ImageGenerator, ServedModel } from '../../src/generator/generator.js';
import type { GenerationRequest } from '../../src/generator/request.js';
import { StableDiffusionGenerator } from '../../src/generator/sd-generator.js';
import { InputStore } from '../../src/inputs/input-store.js';
import { canMove, jobRecordSchema, STATUS_STAGE, type JobStatus } from '../../src/jobs/job-record.js';
import { JobService, type JobPresenter } from '../../src/jobs/job-service.js';
import type { JobRecord, JobTicket } from '../../src/jobs/job-record.js';
import { SettingsStore } from '../../src/settings/settings-store.js';
import { Store, StoreError } from '../../src/store/index.js';
import { RETRY_DELAYS_MS } from '../../src/jobs/job-records.js';
import { tempDir } from '../support/temp-dir.js';
import { TINY_REQUEST } from '../support/requests.js';

const MEMBER = '100000000000000001';

const REQUEST = TINY_REQUEST;

const TICKET: JobTicket = {
  request: REQUEST,
  origin: { userId: MEMBER, userName: 'alice', guildId: '200000000000000001', channelId: '300000000000000001', via: 'command' },
  notices: [],
};

/**
 * The real tiny-SD generator, with a hook that runs once its pictures exist and before the job service stores
 * them: the moment a member's cancel used to be overwritten by the runner's "undelivered".
 */
class GeneratorWithHook implements ImageGenerator {
  readonly #inner: StableDiffusionGenerator;
  afterGenerate: (() => Promise<void>) | undefined;

  constructor(inner: StableDiffusionGenerator) {
    this.#inner = inner;
  }
  get models(): readonly ServedModel[] {
    const { modelName, family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig } = this.#inner;
    return [{ name: modelName, displayName: modelName, family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig }];
  }
  async generate(request: GenerationRequest, options: GenerateOptions): Promise<GeneratedImages> {
    const images = await this.#inner.generate(request, options);
    await this.afterGenerate?.();
    return images;
  }
}

/** A presenter that shows nothing and counts what it was asked to show. */
function countingPresenter(): JobPresenter & { shown: number } {
  const presenter = {
    shown: 0,
    deliver: () => {
      presenter.shown++;
      return Promise.resolve({ ok: true as const, messageId: '400000000000000001' });
    },
    withhold: () => {
      presenter.shown++;
      return Promise.resolve({ ok: true as const, messageId: '400000000000000002' });
    },
  };
  return presenter;
}

describe('JobService: one record per job, moving only forward', () => {
  let generator: GeneratorWithHook;
  let classifier: WorkerClassifier;
  const dir = tempDir();
  let stores = 0;

  before(async () => {
    generator = new GeneratorWithHook(await StableDiffusionGenerator.load('test/fixtures/tiny-sd', { provider: 'cpu' }));
    classifier = await WorkerClassifier.start({}, () => undefined);
  });
  after(() => classifier.close());

  async function open(url: string) {
    const store = await Store.open(url);
    const settings = await SettingsStore.open(store, readDefaults(DEFAULTS_PATH));
    const inputs = await InputStore.open(store);
    const screen = new ContentScreen(classifier, settings);
    const service = await JobService.open({ store, generator, inputs, concurrency: 1, maxQueued: 10, jobTimeoutMs: 60_000, screen });
    return { store, inputs, service };
  }

  it('keeps a job cancelled while its pictures were being stored cancelled, then and after a restart', async () => {
    const url = `sqlite://${join(dir, `jobs-${stores++}.sqlite`)}`;
    const first = await open(url);
    const presenter = countingPresenter();
    await first.service.start(presenter);
    const cancelled = new Promise<void>((resolve) => first.service.once('cancelled', () => resolve()));
    let jobId = '';
    generator.afterGenerate = async () => {
      generator.afterGenerate = undefined;
      const cancel = await first.service.cancel(jobId, MEMBER, false);
      assert.ok(cancel.ok, 'the running job can be cancelled');
      await cancelled;
    };
    const submitted = await first.service.submit(TICKET, { maxQueuedPerMember: 3 });
    assert.ok(submitted.ok);
    jobId = submitted.record.id;
    await first.service.close({ drain: true });

    assert.equal((await first.service.get(jobId))?.status, 'cancelled');
    assert.equal(await first.inputs.getResult(jobId, 0), undefined, 'the cancelled job keeps no pictures');
    await first.store.close();

    const second = await open(url);
    await second.service.start(presenter);
    assert.equal((await second.service.get(jobId))?.status, 'cancelled', 'the restart does not resurrect it');
    await second.service.close({ drain: true });
    await second.store.close();
    assert.equal(presenter.shown, 0, 'nothing of the cancelled job is shown');
  });

  it('delivers an uncancelled job once and records it completed', async () => {
    const { store, service } = await open(`sqlite://${join(dir, `jobs-${stores++}.sqlite`)}`);
    const presenter = countingPresenter();
    await service.start(presenter);
    const completed = new Promise<string>((resolve) => service.once('completed', (record) => resolve(record.status)));
    const submitted = await service.submit(TICKET, { maxQueuedPerMember: 3 });
    assert.ok(submitted.ok);
    assert.equal(await completed, 'completed');
    assert.equal((await service.get(submitted.record.id))?.messageId, '400000000000000001');
    await service.close({ drain: true });
    await store.close();
    assert.equal(presenter.shown, 1);
  });

  it('answers "delivered" for a result on screen whose record is not yet written, once it is (the 🔀 race)', async () => {
    const { store, service } = await open(`sqlite://${join(dir, `jobs-${stores++}.sqlite`)}`);
    // Delivery holds here: the picture is on screen, the record still says `undelivered`.
    let release = () => {};
    const onScreen = new Promise<void>((shown) => {
      const held = new Promise<void>((resolve) => (release = resolve));
      void service.start({
        ...countingPresenter(),
        deliver: async () => {
          shown();
          await held;
          return { ok: true as const, messageId: '400000000000000003' };
        },
      });
    });
    const submitted = await service.submit(TICKET, { maxQueuedPerMember: 3 });
    assert.ok(submitted.ok);
    await onScreen;
    const jobId = submitted.record.id;
    assert.equal((await service.delivered(jobId, 20))?.status, 'undelivered', 'a short wait ends with the record as it is');
    const waited = service.delivered(jobId, 60_000);
    release();
    const record = await waited;
    assert.equal(record?.status, 'completed');
    assert.equal(record?.messageId, '400000000000000003');
    assert.equal(service.listenerCount('completed'), 0, 'the wait leaves no listener behind');
    await service.close({ drain: true });
    await store.close();
  });

  it('tries a record write the store fails again: the job runs and is delivered (a busy store used to fail it)', async () => {
    const url = `sqlite://${join(dir, `jobs-${stores++}.sqlite`)}`;
    const { store, service } = await open(url);
    // Every try but the last fails: the write that marks the job running, the first record change of its run.
    const injected = await failRecordWrites(url, 'running', RETRY_DELAYS_MS.length);
    await service.start(countingPresenter());
    const ended = new Promise<string>((resolve) => {
      service.once('completed', (record) => resolve(record.status));
      service.once('failed', (record) => resolve(`failed: ${JSON.stringify(record.failure)}`));
    });
    const submitted = await service.submit(TICKET, { maxQueuedPerMember: 3 });
    assert.ok(submitted.ok);
    assert.equal(await ended, 'completed');
    assert.equal(await injected.left(), 0, 'the store failed the write each time it was asked to');
    assert.equal((await service.get(submitted.record.id))?.status, 'completed');
    await service.close({ drain: true });
    await injected.close();
    await store.close();
  });

  /**
   * Two jobs of the member: the first holds the one slot (its pictures made) until `release`, the second waits
   * behind it.
   */
  async function oneRunningOneWaiting(service: JobService) {
    let hold = () => {};
    generator.afterGenerate = () => new Promise<void>((resolve) => (hold = resolve));
    const first = await service.submit(TICKET, { maxQueuedPerMember: 3 });
    const second = await service.submit(TICKET, { maxQueuedPerMember: 3 });
    assert.ok(first.ok && second.ok);
    const release = () => {
      generator.afterGenerate = undefined;
      hold();
    };
    return { waiting: second.record, release };
  }

  it('shows a cancel whose record write the store keeps failing: the record as accepted, cancelled', async () => {
    const url = `sqlite://${join(dir, `jobs-${stores++}.sqlite`)}`;
    const { store, service } = await open(url);
    const injected = await failRecordWrites(url, 'cancelled', RETRY_DELAYS_MS.length + 1);
    await service.start(countingPresenter());
    const { waiting, release } = await oneRunningOneWaiting(service);
    const cancelled: { id: string; status: string; byUserId: string }[] = [];
    service.on('cancelled', ({ id, status }, byUserId) => cancelled.push({ id, status, byUserId }));
    const reported = new Promise<unknown>((resolve) => service.once('error', resolve));

    assert.ok((await service.cancel(waiting.id, MEMBER, false)).ok);
    assert.ok((await reported) instanceof StoreError, 'the failed write is reported');
    assert.deepEqual(cancelled, [{ id: waiting.id, status: 'cancelled', byUserId: MEMBER }], 'the member is told all the same');
    assert.equal(await injected.left(), 0);
    release();
    await service.close({ drain: true });
    await injected.close();
    await store.close();
  });

  it('reports a job whose record is gone when the queue ends it, and tells the member the record as accepted', async () => {
    const url = `sqlite://${join(dir, `jobs-${stores++}.sqlite`)}`;
    const { store, service } = await open(url);
    await service.start(countingPresenter());
    const { waiting, release } = await oneRunningOneWaiting(service);
    // The waiting job's record vanishes (a store emptied by hand): its end finds nothing to write.
    await (await store.collection('jobs', { schema: jobRecordSchema, version: 1 })).delete(waiting.id);
    const told = new Promise<JobRecord>((resolve) => service.once('cancelled', resolve));
    const reported = new Promise<unknown>((resolve) => service.once('error', resolve));

    assert.ok((await service.cancel(waiting.id, MEMBER, false)).ok);
    const error = await reported;
    assert.ok(error instanceof Error && /has no record/.test(error.message), 'the missing record is reported');
    const { id, status } = await told;
    assert.deepEqual({ id, status }, { id: waiting.id, status: 'cancelled' }, 'the member is told all the same');
    release();
    await service.close({ drain: true });
    await store.close();
  });

  it('shows progress while a write of the job waits for the store: reports never queue behind state writes', async () => {
    const url = `sqlite://${join(dir, `jobs-${stores++}.sqlite`)}`;
    const { store, service } = await open(url);
    // The write that links the job's message fails its first tries and lands on its last, 1.1 s after the first.
    const injected = await failRecordWritesWhere(url, "json_extract(NEW.value, '$.value.data.messageId') IS NOT NULL", RETRY_DELAYS_MS.length);
    await service.start(countingPresenter());
    let linked = false;
    let link = Promise.resolve();
    service.once('started', (record) => {
      link = service.attachMessage(record.id, '400000000000000009').then(() => {
        linked = true;
      });
    });
    const shownBeforeLink: boolean[] = [];
    service.on('progress', () => shownBeforeLink.push(!linked));
    const completed = new Promise<JobRecord>((resolve) => service.once('completed', resolve));
    const submitted = await service.submit(TICKET, { maxQueuedPerMember: 3 });
    assert.ok(submitted.ok);
    await completed;
    await link;
    assert.ok(shownBeforeLink.length > 0, 'progress was shown');
    assert.ok(shownBeforeLink.includes(true), 'progress was shown while the write was being tried again');
    assert.equal(await injected.left(), 0, 'the write was tried until it landed');
    await service.close({ drain: true });
    await injected.close();
    await store.close();
  });

  it('tries the read that starts a delivery again while the store fails it: the result is delivered', async () => {
    const url = `sqlite://${join(dir, `jobs-${stores++}.sqlite`)}`;
    const { store, service } = await open(url);
    const broken = await breakRecordReads(url, 'undelivered');
    const presenter = countingPresenter();
    await service.start(presenter);
    // The record cannot be read once the job's pictures are stored: the queue's read, as it lets the job go, fails
    // every try and is reported; the store heals a moment later, while the read that starts the delivery is tried.
    const outcome = new Promise<string>((resolve) => {
      service.once('completed', (record) => resolve(record.status));
      let failures = 0;
      service.on('error', () => {
        failures += 1;
        if (failures === 1) setTimeout(() => void broken.heal(), 50);
        else resolve('the read that starts the delivery failed: the result waits for the next start');
      });
    });
    const submitted = await service.submit(TICKET, { maxQueuedPerMember: 3 });
    assert.ok(submitted.ok);
    assert.equal(await outcome, 'completed');
    assert.equal(presenter.shown, 1);
    await service.close({ drain: true });
    await broken.close();
    await store.close();
  });

  it('keeps a running job cancelled when its cancel write fails and its pictures come after: one outcome, stored', async () => {
    const url = `sqlite://${join(dir, `jobs-${stores++}.sqlite`)}`;
    const { store, inputs, service } = await open(url);
    // Each try of the cancel's write fails; the runner's write of its pictures, which comes next, lands.
    const injected = await failRecordWrites(url, 'cancelled', RETRY_DELAYS_MS.length + 1);
    const presenter = countingPresenter();
    await service.start(presenter);
    const told: string[] = [];
    for (const event of ['cancelled', 'completed', 'failed'] as const) service.on(event, (record: JobRecord) => told.push(`${event}: ${record.status}`));
    const reported = new Promise<unknown>((resolve) => service.once('error', resolve));
    let jobId = '';
    generator.afterGenerate = async () => {
      generator.afterGenerate = undefined;
      assert.ok((await service.cancel(jobId, MEMBER, false)).ok);
      assert.ok((await reported) instanceof StoreError, 'the cancel\'s write failed every try');
    };
    const submitted = await service.submit(TICKET, { maxQueuedPerMember: 3 });
    assert.ok(submitted.ok);
    jobId = submitted.record.id;
    const deadline = Date.now() + 120_000;
    while (service.stats().running > 0 || told.length === 0) {
      assert.ok(Date.now() < deadline, `the job has not ended after 120 s (told: ${told.join(', ') || 'nothing'})`);
      await sleep(10);
    }

    assert.deepEqual(told, ['cancelled: cancelled'], 'the member is told one outcome');
    assert.equal(await injected.left(), 0);
    assert.equal((await storedRecord(url, jobId))?.status, 'cancelled', 'the store says so before any shutdown');
    assert.equal(await inputs.getResult(jobId, 0), undefined, 'the cancelled job keeps no pictures');
    await service.close({ drain: true });
    await injected.close();
    await store.close();

    const restarted = await open(url);
    await restarted.service.start(presenter);
    assert.equal((await restarted.service.get(jobId))?.status, 'cancelled');
    await restarted.service.close({ drain: true });
    await restarted.store.close();
    assert.equal(presenter.shown, 0, 'nothing of the cancelled job is shown, then or after a restart');
  });

  it("reads a failed job whose end the store keeps failing as failed, stores the end at close, and resumes nothing after", async () => {
    const url = `sqlite://${join(dir, `jobs-${stores++}.sqlite`)}`;
    const first = await open(url);
    // Each try of the end's one write fails; the end's write at shutdown lands.
    const injected = await failRecordWrites(url, 'failed', RETRY_DELAYS_MS.length + 1);
    await first.service.start(countingPresenter());
    generator.afterGenerate = () => Promise.reject(new Error('the GPU fell over'));
    const told = new Promise<JobRecord>((resolve) => first.service.once('failed', resolve));
    const reported = new Promise<unknown>((resolve) => first.service.once('error', resolve));
    const submitted = await first.service.submit(TICKET, { maxQueuedPerMember: 3 });
    assert.ok(submitted.ok);
    const jobId = submitted.record.id;
    assert.equal((await told).status, 'failed', 'the member is told');
    generator.afterGenerate = undefined;
    assert.ok((await reported) instanceof StoreError, 'the failed write is reported');
    assert.equal(await injected.left(), 0);
    assert.equal((await first.service.get(jobId))?.status, 'failed', 'the next read tells the truth');
    await first.service.close({ drain: true });
    await injected.close();
    await first.store.close();

    const second = await open(url);
    const resumed: string[] = [];
    second.service.on('resumed', (record) => resumed.push(record.id));
    await second.service.start(countingPresenter());
    const stored = await second.service.get(jobId);
    assert.equal(stored?.status, 'failed', 'the end was stored at shutdown');
    assert.equal(stored?.queue, undefined, 'with the queue facts gone in the same write');
    assert.deepEqual(resumed, []);
    await second.service.close({ drain: true });
    await second.store.close();
  });

  it('keeps a job whose end the store never takes in the queue: the restart resumes and finishes it', async () => {
    const url = `sqlite://${join(dir, `jobs-${stores++}.sqlite`)}`;
    const first = await open(url);
    // The end's tries and its last try at shutdown all fail: the store still says the job runs.
    const injected = await failRecordWrites(url, 'failed', 2 * (RETRY_DELAYS_MS.length + 1));
    await first.service.start(countingPresenter());
    generator.afterGenerate = () => Promise.reject(new Error('the GPU fell over'));
    const told = new Promise<JobRecord>((resolve) => first.service.once('failed', resolve));
    first.service.on('error', () => undefined);
    const submitted = await first.service.submit(TICKET, { maxQueuedPerMember: 3 });
    assert.ok(submitted.ok);
    const jobId = submitted.record.id;
    await told;
    generator.afterGenerate = undefined;
    await first.service.close({ drain: true });
    assert.equal(await injected.left(), 0, 'every write of the end failed');
    await injected.close();
    await first.store.close();

    const second = await open(url);
    const presenter = countingPresenter();
    const resumed: string[] = [];
    second.service.on('resumed', (record) => resumed.push(record.id));
    const completed = new Promise<string>((resolve) => second.service.once('completed', (record) => resolve(record.id)));
    await second.service.start(presenter);
    assert.deepEqual(resumed, [jobId], 'the job is still the queue\'s: it runs again');
    assert.equal(await completed, jobId);
    await second.service.close({ drain: true });
    await second.store.close();
    assert.equal(presenter.shown, 1);
  });
});

/**
 * Makes the real SQLite store at `url` return an unreadable value for the record of the next job written in
 * `status`, as a damaged read does, until `heal()`: a trigger keeps the value aside and spoils the stored one.
 */
async function breakRecordReads(url: string, status: JobStatus): Promise<{ heal(): Promise<void>; close(): Promise<void> }> {
  const db = new KeyvSqlite({ uri: url });
  await db.query('CREATE TABLE kept_aside(key TEXT, value TEXT, times_left INTEGER)');
  await db.query('INSERT INTO kept_aside VALUES (NULL, NULL, 1)');
  await db.query(`CREATE TRIGGER break_record_read AFTER UPDATE ON keyv
    WHEN NEW.key LIKE 'jobs:%' AND json_extract(NEW.value, '$.value.data.status') = '${status}'
      AND (SELECT times_left FROM kept_aside) > 0
    BEGIN
      UPDATE kept_aside SET key = NEW.key, value = NEW.value, times_left = 0;
      UPDATE keyv SET value = 'unreadable' WHERE key = NEW.key;
    END`);
  return {
    heal: async () => {
      await db.query('UPDATE keyv SET value = (SELECT value FROM kept_aside) WHERE key = (SELECT key FROM kept_aside)');
    },
    close: () => db.disconnect(),
  };
}

/** The record of `jobId` as the store at `url` holds it, read through a connection of its own. */
async function storedRecord(url: string, jobId: string): Promise<JobRecord | undefined> {
  const store = await Store.open(url);
  try {
    return await (await store.collection('jobs', { schema: jobRecordSchema, version: 1 })).get(jobId);
  } finally {
    await store.close();
  }
}

/**
 * Makes the real SQLite store at `url` fail the next `times` writes that put a job record in `status`, as a busy
 * or failing disk fails them: a trigger raises an error in the statement (no mock of the store).
 */
function failRecordWrites(url: string, status: JobStatus, times: number): Promise<{ left(): Promise<number>; close(): Promise<void> }> {
  return failRecordWritesWhere(url, `json_extract(NEW.value, '$.value.data.status') = '${status}'`, times);
}

/** As {@link failRecordWrites}, for the writes whose new value (`NEW.value`, SQL) meets `condition`. */
async function failRecordWritesWhere(url: string, condition: string, times: number): Promise<{ left(): Promise<number>; close(): Promise<void> }> {
  const db = new KeyvSqlite({ uri: url });
  await db.query('CREATE TABLE injected_failures(condition_sql TEXT PRIMARY KEY, times_left INTEGER)');
  await db.query('INSERT INTO injected_failures VALUES (?, ?)', condition, times);
  // keyv keeps `{ value: <the collection's envelope>, expires }`; the envelope holds the record as `data`.
  await db.query(`CREATE TRIGGER fail_record_write BEFORE UPDATE ON keyv
    WHEN NEW.key LIKE 'jobs:%' AND ${condition} AND (SELECT times_left FROM injected_failures) > 0
    BEGIN
      UPDATE injected_failures SET times_left = times_left - 1;
      SELECT RAISE(FAIL, 'injected store failure');
    END`);
  return {
    left: async () => ((await db.query('SELECT times_left FROM injected_failures')) as { times_left: number }[])[0]?.times_left ?? -1,
    close: () => db.disconnect(),
  };
}

describe('canMove', () => {
  const statuses = Object.keys(STATUS_STAGE) as JobStatus[];
  const ends: JobStatus[] = ['completed', 'blocked', 'failed', 'cancelled'];

  it('never moves an ended job to another status', () => {
    for (const from of ends) for (const to of statuses) assert.equal(canMove(from, to), from === to, `${from} → ${to}`);
  });

  it('moves a waiting or running job anywhere, and an undelivered one only to an end', () => {
    for (const from of ['queued', 'running'] as const) for (const to of statuses) assert.ok(canMove(from, to), `${from} → ${to}`);
    assert.equal(canMove('undelivered', 'running'), false);
    assert.equal(canMove('undelivered', 'queued'), false);
    for (const to of ends) assert.ok(canMove('undelivered', to), `undelivered → ${to}`);
  });
});
