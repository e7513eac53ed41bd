// Batching through the whole local stack: the job service's queue takes compatible waiting jobs together, and the
// model pool, the supervised pipeline, its worker thread and the pipeline run them as one batch — each picture the
// one its job makes alone.
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
    const events: string[] = [];
    service.on('started', (record) => events.push(`started ${record.request.seed}`));
    service.on('progress', (record, step) => events.push(`step ${step} ${record.request.seed}`));
    await service.start(presenter);
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
});
