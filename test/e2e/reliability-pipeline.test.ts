// Issue 10, runtime faults: real failures of the image pipeline, from a model folder the tests change on disk.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { presenceOf } from '../../src/discord/status.js';
import { reloadProvider, type PipelineHealth } from '../../src/generator/pipeline-health.js';
import type { InteractionHandle } from '../support/fake-discord/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { outOfMemoryUnet } from '../support/onnx-model.js';
import { processTempDir } from '../support/temp-dir.js';

const TINY_MODEL = fileURLToPath(new URL('../fixtures/tiny-sd', import.meta.url));

/** A copy of the tiny model whose files the test may replace (the fixtures are read-only); removed at exit. */
function writableModel(): string {
  const parent = processTempDir('dreamcord-model-');
  const dir = join(parent, 'tiny-sd');
  cpSync(TINY_MODEL, dir, { recursive: true });
  const makeWritable = (path: string): void => {
    chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) makeWritable(join(path, entry));
  };
  makeWritable(dir);
  return dir;
}

/**
 * 72 pixels wide is a multiple of 8, so the request is valid, but its latents are 9 wide, which this UNet's
 * down- and up-sampling cannot bring back to 9: ONNX Runtime fails in a Concat node, a genuine runtime error.
 */
const BREAKS_THE_UNET = { width: 72, height: 64, steps: 2 } as const;

describe('runtime faults of the image pipeline (issue 10)', () => {
  let bot: BotHarness;
  let modelDir: string;
  let realUnet: Buffer;
  const imagine = (prompt: string, options: Record<string, number> = FAST, user = bot.fake.member) =>
    bot.fake.sendCommand({ name: 'imagine', user, options: { prompt, ...options } });
  const failure = (run: InteractionHandle) => run.waitForOriginal((m) => m.content.includes('job failed'), 60_000);
  const result = (run: InteractionHandle) => run.waitForOriginal((m) => m.attachments.length > 0, 60_000);
  const reloads = () => bot.logs.filter((line) => line['msg'] === 'image pipeline reloaded').length;
  const presence = () => bot.fake.presences.at(-1);

  before(async () => {
    modelDir = writableModel();
    realUnet = readFileSync(join(modelDir, 'unet', 'model.onnx'));
    bot = await startBot({ env: { MODEL_DIR: modelDir, EXECUTION_PROVIDER: 'auto' } });
  });
  after(() => bot.stop());

  it('shows a ready pipeline in the bot presence', { timeout: 120_000 }, async () => {
    await bot.fake.waitFor(() => presence()?.status === 'online', 10_000, 'an online presence');
    assert.equal(presence()?.activities[0]?.['state'], '🎨 Ready for /imagine');
  });

  it('an ONNX Runtime error fails the job with a clear message, the bot goes on, and the presence shows it', { timeout: 120_000 }, async () => {
    const broken = await failure(imagine('a wide fox', BREAKS_THE_UNET));
    assert.match(broken.content, /job failed: The model could not run this request \(ONNX Runtime error on cpu\)\. Other sizes or settings may work/);
    assert.doesNotMatch(broken.content, /Concat|onnxruntime_src|status code/, 'no ONNX Runtime internals for members');
    const logged = bot.logs.find((line) => line['msg'] === 'a job failed in the image pipeline');
    assert.match(JSON.stringify(logged), /Concat/, 'the details are in the log');
    await bot.fake.waitFor(() => presence()?.status === 'idle', 10_000, 'an idle presence');
    assert.match(String(presence()?.activities[0]?.['state']), /Image pipeline errors/);

    await result(imagine('a fox that fits'));
    await bot.fake.waitFor(() => presence()?.status === 'online', 10_000, 'the presence back online');
    assert.deepEqual(bot.fake.violations, []);
  });

  it(`three failures in a row reload the pipeline (presence: reloading, then ready); the next job runs`, { timeout: 120_000 }, async () => {
    const seen = bot.fake.presences.length;
    const runs = [1, 2, 3].map((i) => imagine(`wide ${i}`, BREAKS_THE_UNET));
    for (const run of runs) await failure(run);
    await bot.fake.waitFor(() => reloads() === 1 && presence()?.status === 'online', 30_000, 'a reload, shown');
    const states = bot.fake.presences.slice(seen).map((p) => `${p.status} ${String(p.activities[0]?.['state'])}`);
    assert.deepEqual(states, [
      'idle ⚠️ Image pipeline errors: it reloads if they go on',
      'idle ♻️ Reloading the image pipeline',
      'online 🎨 Ready for /imagine',
    ]);
    // `auto` had picked the CPU, so the reload is not a fallback: it loads `auto` again.
    const reloading = bot.logs.find((line) => line['msg'] === 'reloading the image pipeline');
    assert.equal(reloading?.['provider'], 'auto');
    await result(imagine('after the reload'));
  });

  it('out of memory: the job is retried once, then fails saying so; a reload onto an intact model lets the retry succeed', { timeout: 120_000 }, async () => {
    writeFileSync(join(modelDir, 'unet', 'model.onnx'), outOfMemoryUnet(16));
    for (const i of [1, 2, 3]) await failure(imagine(`wide again ${i}`, BREAKS_THE_UNET));
    await bot.fake.waitFor(() => reloads() === 2, 30_000, 'a reload onto the out-of-memory UNet');

    const oom = await failure(imagine('a fox on a small GPU'));
    assert.match(oom.content, /job failed: Ran out of memory: The computer did not have enough free memory for this job \(OOM\)\. Try a smaller size or fewer images\./);
    const attempts = bot.logs.filter((line) => line['msg'] === 'a job failed in the image pipeline' && line['fault'] === 'memory');
    assert.equal(attempts.length, 2, 'the first attempt and its one retry');
    assert.match(JSON.stringify(attempts[0]), /Failed to allocate memory/, 'ONNX Runtime could not allocate');

    // The third failure in a row reloads the pipeline; the job's retry waits for it and runs on the intact UNet.
    writeFileSync(join(modelDir, 'unet', 'model.onnx'), realUnet);
    await result(imagine('retried on the fresh pipeline'));
    assert.equal(reloads(), 3);
  });

  it('when the model folder vanishes the pipeline is down (presence: do not disturb) and jobs fail at once; it recovers by itself', { timeout: 120_000 }, async () => {
    renameSync(modelDir, `${modelDir}-unplugged`);
    try {
      for (const i of [1, 2, 3]) await failure(imagine(`wide once more ${i}`, BREAKS_THE_UNET));
      await bot.fake.waitFor(() => presence()?.status === 'dnd', 30_000, 'a do-not-disturb presence');
      assert.equal(presence()?.activities[0]?.['state'], '⛔ Image pipeline unavailable: retrying');
      const down = await failure(imagine('while it is down'));
      assert.match(down.content, /job failed: The image pipeline is unavailable right now \(it could not be loaded; the bot keeps trying\)/);
      assert.ok(bot.logs.some((line) => line['msg'] === 'the image pipeline could not be loaded'));
    } finally {
      renameSync(`${modelDir}-unplugged`, modelDir);
    }
    await bot.fake.waitFor(() => presence()?.status === 'online', 30_000, 'the pipeline to come back');
    await result(imagine('back in business'));
    assert.deepEqual(bot.fake.violations, []);
  });
});

describe('what the pipeline falls back to and how it shows', () => {
  it('falls back to the CPU only when `auto` had picked another provider', () => {
    assert.equal(reloadProvider('auto', { textEncoder: 'cuda', unet: 'cuda', vaeDecoder: 'cuda' }), 'cpu');
    assert.equal(reloadProvider('auto', { textEncoder: 'cpu', unet: 'cpu', vaeDecoder: 'cpu' }), 'auto');
    assert.equal(reloadProvider('cuda', { unet: 'cuda' }), 'cuda', 'an explicit provider is kept: the owner asked for it');
    assert.equal(reloadProvider('cpu', { unet: 'cpu' }), 'cpu');
  });

  it('shows each state as a presence', () => {
    const health = (change: Partial<PipelineHealth>): PipelineHealth => ({ state: 'ready', provider: 'cuda', fallback: false, failures: 0, ...change });
    assert.deepEqual(
      [health({}), health({ provider: 'cpu', fallback: true }), health({ state: 'degraded', failures: 2 }), health({ state: 'reloading' }), health({ state: 'down' })]
        .map(presenceOf)
        .map((p) => `${p.status} ${p.activities?.[0]?.state}`),
      [
        'online 🎨 Ready for /imagine',
        'idle 🐢 Running on the CPU (the GPU failed): slower than usual',
        'idle ⚠️ Image pipeline errors: it reloads if they go on',
        'idle ♻️ Reloading the image pipeline',
        'dnd ⛔ Image pipeline unavailable: retrying',
      ],
    );
  });
});
