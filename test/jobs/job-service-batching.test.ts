// Batching through the whole local stack: the job service's queue takes compatible waiting jobs together, and the
// model pool, the supervised pipeline, its worker thread and the pipeline run them as one batch — each picture the
// one its job makes alone; and the places the queue tells waiting jobs are the batches they then start in.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULTS_PATH, readDefaults } from '../../src/config/index.js';
import { WorkerClassifier } from '../../src/content/content-classifier.js';
import type { GeneratedImages, ImageGenerator } from '../../src/generator/generator.js';
import type { ModelPool } from '../../src/generator/model-pool.js';
import type { GenerationRequest } from '../../src/generator/request.js';
import { InputStore } from '../../src/inputs/input-store.js';
import { ContentScreen } from '../../src/jobs/content-screen.js';
import type { JobTicket } from '../../src/jobs/job-record.js';
import { JobService, type JobPresenter } from '../../src/jobs/job-service.js';
import { startModelPool } from '../../src/local-pipeline.js';
import { createLogger } from '../../src/log.js';
import { SettingsStore } from '../../src/settings/settings-store.js';
import { Store } from '../../src/store/index.js';
import { TINY_REQUEST } from '../support/requests.js';
import { tempDir } from '../support/temp-dir.js';

/** Three members' jobs that share a batch key: other prompts, negative prompts, seeds and counts. */
const COMPATIBLE: readonly GenerationRequest[] = [
  { ...TINY_REQUEST, steps: 4, sampler: 'euler_a', prompt: 'a red fox in the snow', seed: '11', count: 2 },
  { ...TINY_REQUEST, steps: 4, sampler: 'euler_a', prompt: 'a lighthouse at dusk', negative: 'blurry', seed: '4242' },
  { ...TINY_REQUEST, steps: 4, sampler: 'euler_a', prompt: 'an astronaut riding a horse', seed: '7' },
];

function ticket(request: GenerationRequest, member: number): JobTicket {
  const userId = `10000000000000000${member}`;
  return { request, origin: { userId, userName: `member ${member}`, guildId: '200000000000000001', channelId: '300000000000000001', via: 'command' }, notices: [] };
}

/** The pool's generator, except that the job of seed 1 holds its slot until `release()`. */
function gatedGenerator(pool: ModelPool): { readonly generator: ImageGenerator; readonly release: () => void } {
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const generator: ImageGenerator = {
    models: pool.models,
    generate: async (request, options) => {
      if (request.seed === '1') await gate;
      return pool.generate(request, options);
    },
    generateBatch: (jobs, maxRows) => pool.generateBatch(jobs, maxRows),
  };
  return { generator, release };
}

/** A started job service on a fresh store, batching up to 8 rows on one slot, that keeps what it delivers by job id. */
async function startService(generator: ImageGenerator, classifier: WorkerClassifier): Promise<{ service: JobService; store: Store; delivered: Map<string, GeneratedImages> }> {
  const store = await Store.open(`sqlite://${join(tempDir(), 'jobs.sqlite')}`);
  const settings = await SettingsStore.open(store, readDefaults(DEFAULTS_PATH));
  const inputs = await InputStore.open(store);
  const service = await JobService.open({
    store,
    generator,
    inputs,
    concurrency: 1,
    batchMaxRows: 8,
    maxQueued: 10,
    jobTimeoutMs: 60_000,
    screen: new ContentScreen(classifier, settings),
  });
  const delivered = new Map<string, GeneratedImages>();
  const presenter: JobPresenter = {
    deliver: (record, images) => {
      delivered.set(record.id, images);
      return Promise.resolve({ ok: true as const, messageId: `40000000000000000${delivered.size}` });
    },
    withhold: () => Promise.resolve({ ok: true as const, messageId: '400000000000000009' }),
  };
  await service.start(presenter);
  return { service, store, delivered };
}

describe('JobService with batching, on the real pipeline', () => {
  let pool: ModelPool;
  let classifier: WorkerClassifier;

  before(async () => {
    const log = createLogger({ level: 'silent' });
    pool = await startModelPool(
      {
        MODEL_DIR: 'test/fixtures/tiny-sd',
        MODELS_DIR: undefined,
        MODEL_MEMORY_GB: 8,
        INPAINT_MODEL_DIR: undefined,
        EMBEDDINGS_DIR: undefined,
        LORA_DIR: undefined,
        MODEL_CACHE_DIR: tempDir(),
        MODEL_DTYPE: 'fp32',
        EXECUTION_PROVIDER: 'cpu',
        ONNX_NATIVE_BRIDGE: 'off',
        ONNX_CUDA_GRAPHS: 'off',
      },
      log,
    );
    classifier = await WorkerClassifier.start({}, () => undefined);
  });
  after(async () => {
    await classifier.close();
    await pool.close();
  });

  it('runs compatible waiting jobs together, each delivering the pictures it makes alone', async () => {
    // The first job (seed 1) holds the slot until the three compatible ones are queued behind it.
    const { generator, release } = gatedGenerator(pool);
    const { service, store, delivered } = await startService(generator, classifier);
    const events: string[] = [];
    service.on('started', (record) => events.push(`started ${record.request.seed}`));
    service.on('progress', (record, step) => events.push(`step ${step} ${record.request.seed}`));
    const done = new Promise<void>((resolve) => service.on('completed', () => delivered.size === 4 && resolve()));

    // A job of other steps and sampler holds the slot while the three compatible ones wait.
    const blocker = await service.submit(ticket({ ...TINY_REQUEST, seed: '1' }, 9), { maxQueuedPerMember: 3 });
    assert.ok(blocker.ok);
    const ids: string[] = [];
    for (const [i, request] of COMPATIBLE.entries()) {
      const submitted = await service.submit(ticket(request, i + 1), { maxQueuedPerMember: 3 });
      assert.ok(submitted.ok);
      ids.push(submitted.record.id);
    }
    release();
    await done;
    await service.close({ drain: true });
    await store.close();

    // The three started together, after the blocker's last step, before any of them made its first step (one at a
    // time, each would start after the previous one's last step).
    const startedAt = COMPATIBLE.map((request) => events.indexOf(`started ${request.seed}`));
    const firstStep = Math.min(...COMPATIBLE.map((request) => events.indexOf(`step 1 ${request.seed}`)));
    assert.ok(startedAt.every((at) => at > events.indexOf('step 2 1') && at < firstStep), events.join(', '));

    for (const [i, request] of COMPATIBLE.entries()) {
      const alone = await pool.generate(request, { signal: new AbortController().signal, onProgress: () => undefined });
      const batched = delivered.get(ids[i] ?? '');
      assert.equal(batched?.images.length, request.count);
      batched?.images.forEach((image, k) => {
        assert.equal(image.seed, alone.images[k]?.seed);
        assert.equal(image.parameters, alone.images[k]?.parameters);
        assert.deepEqual(image.image.data, alone.images[k]?.image.data, `job ${i}, picture ${k}`);
      });
    }
  });

  it('tells each waiting job the start it is in, and the jobs then start exactly in those batches', async () => {
    const { generator, release } = gatedGenerator(pool);
    const { service, store, delivered } = await startService(generator, classifier);
    // A start's jobs are all told 'started' before any of them makes a step: one group of ids per start.
    const starts: string[][] = [];
    let stepped = true;
    service.on('started', (record) => {
      if (stepped) starts.push([]);
      stepped = false;
      starts.at(-1)?.push(record.id);
    });
    service.on('progress', () => (stepped = true));
    const done = new Promise<void>((resolve) => service.on('completed', () => delivered.size === 7 && resolve()));

    const blocker = await service.submit(ticket({ ...TINY_REQUEST, seed: '1' }, 9), { maxQueuedPerMember: 3 });
    assert.ok(blocker.ok);
    // Two shapes (2 and 3 steps); member 1 asks twice. Fair order: 1a, 2b, 3a, 4b, 5a, then 1a again.
    const [a, b] = [{ ...TINY_REQUEST, steps: 2 }, { ...TINY_REQUEST, steps: 3 }];
    const asked: Array<readonly [GenerationRequest, number]> = [[a, 1], [b, 2], [a, 3], [a, 1], [b, 4], [a, 5]];
    const ids: string[] = [];
    for (const [i, [request, member]] of asked.entries()) {
      const submitted = await service.submit(ticket({ ...request, seed: String(100 + i) }, member), { maxQueuedPerMember: 3 });
      assert.ok(submitted.ok);
      ids.push(submitted.record.id);
    }
    const placements = ids.map((id) => service.positionOf(id));
    // 1a takes 3a and 5a along (2 rows each), not member 1's second job while member 2 waits for a turn; 2b takes 4b.
    assert.deepEqual(placements.map((placement) => placement?.position), [1, 2, 1, 3, 2, 1]);
    const etaAt = (position: number) => placements.filter((placement) => placement?.position === position).map((placement) => placement?.etaMs ?? 0);
    assert.ok(Math.max(...etaAt(1)) < Math.min(...etaAt(2)) && Math.max(...etaAt(2)) < Math.min(...etaAt(3)), JSON.stringify(placements));

    release();
    await done;
    await service.close({ drain: true });
    await store.close();
    const [ofA1, ofB2, ofA3, ofA1Again, ofB4, ofA5] = ids;
    // Which jobs start together, and in which order the starts come; the order of one start's 'started' events is
    // the order their records are written, which the contract leaves open.
    const asSets = (groups: ReadonlyArray<ReadonlyArray<string | undefined>>) => groups.map((group) => [...group].sort());
    assert.deepEqual(asSets(starts), asSets([[blocker.record.id], [ofA1, ofA3, ofA5], [ofB2, ofB4], [ofA1Again]]));
  });
});
