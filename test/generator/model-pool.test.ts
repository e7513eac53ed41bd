// Issue 16: the bot's models load on first use, stay loaded within MODEL_MEMORY_GB (least recently used released
// first), and a model that cannot load is broken until its file changes. Real tiny models, real pipeline threads.
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { FailureError } from '../../src/failure.js';
import type { ModelPool } from '../../src/generator/model-pool.js';
import { startModelPool, type PoolEnv } from '../../src/local-pipeline.js';
import { createLogger } from '../../src/log.js';
import { TINY_LORA, TINY_SD } from '../support/checkpoint-files.js';
import { TINY_REQUEST } from '../support/requests.js';
import type { GenerationRequest } from '../../src/generator/request.js';
import { processTempDir } from '../support/temp-dir.js';

/** A pool over `modelsDir`, and its log lines. */
async function pool(
  modelsDir: string,
  memoryGb: number,
  bridge: Partial<Pick<PoolEnv, 'ONNX_NATIVE_BRIDGE' | 'ONNX_CUDA_GRAPHS'>> = {},
): Promise<{ pool: ModelPool; logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const env: PoolEnv = {
    MODEL_DIR: undefined,
    MODELS_DIR: modelsDir,
    MODEL_MEMORY_GB: memoryGb,
    INPAINT_MODEL_DIR: undefined,
    EMBEDDINGS_DIR: undefined,
    LORA_DIR: undefined,
    MODEL_CACHE_DIR: join(modelsDir, '..', 'cache'),
    MODEL_DTYPE: 'fp32',
    EXECUTION_PROVIDER: 'cpu',
    ONNX_NATIVE_BRIDGE: 'off',
    ONNX_CUDA_GRAPHS: 'off',
    ...bridge,
  };
  return { pool: await startModelPool(env, createLogger({ level: 'info', secrets: [], destination })), logs };
}

const said = (logs: readonly Record<string, unknown>[], msg: string) => logs.filter((line) => line['msg'] === msg);

async function draw(models: ModelPool, model: string): Promise<{ preparing: boolean }> {
  let preparing = false;
  await models.generate({ ...TINY_REQUEST, model }, { signal: new AbortController().signal, onProgress: () => undefined, onPreparing: () => (preparing = true) });
  return { preparing };
}

/** The first picture of `request` on `model`, as the pool draws it. */
async function pictureOf(models: ModelPool, model: string, request: Partial<GenerationRequest> = {}): Promise<Uint8Array> {
  const { images } = await models.generate({ ...TINY_REQUEST, ...request, model }, { signal: new AbortController().signal, onProgress: () => undefined });
  return images[0]?.image.data ?? new Uint8Array();
}

describe('ModelPool', () => {
  const pools: ModelPool[] = [];
  after(() => Promise.all(pools.map((p) => p.close())));

  it('loads each model on first use and releases the least recently used one beyond the memory budget', { timeout: 120_000 }, async () => {
    const dir = join(processTempDir(), 'models');
    mkdirSync(dir);
    for (const name of ['a', 'b', 'c']) copyFileSync(TINY_SD, join(dir, `${name}.safetensors`));
    // Room for two tiny checkpoints (4.3 MB each), not three.
    const { pool: models, logs } = await pool(dir, 10e6 / 1024 ** 3);
    pools.push(models);
    assert.deepEqual(models.loadedModels, []);
    assert.deepEqual(await draw(models, 'a'), { preparing: true });
    assert.deepEqual(await draw(models, 'b'), { preparing: true });
    assert.deepEqual(await draw(models, 'a'), { preparing: false });
    assert.deepEqual(models.loadedModels, ['b', 'a']);
    await draw(models, 'c');
    assert.deepEqual(models.loadedModels, ['a', 'c']);
    assert.deepEqual(said(logs, 'model released to make room').map((line) => line['model']), ['b']);
    // Each was converted once: loading b again finds its conversion.
    await draw(models, 'b');
    assert.deepEqual(models.loadedModels, ['c', 'b']);
    assert.equal(said(logs, 'checkpoint converted').length, 3);
  });

  it('creates the sessions through the native bridge with ONNX_NATIVE_BRIDGE=on, drawing the same picture, and says so', { timeout: 120_000 }, async () => {
    const pictures: Uint8Array[] = [];
    for (const nativeBridge of ['off', 'on'] as const) {
      const dir = join(processTempDir(), `bridge-${nativeBridge}`);
      mkdirSync(dir);
      copyFileSync(TINY_SD, join(dir, 'a.safetensors'));
      const { pool: models, logs } = await pool(dir, 1, { ONNX_NATIVE_BRIDGE: nativeBridge });
      pools.push(models);
      pictures.push(await pictureOf(models, 'a'));
      const loaded = said(logs, 'model loaded').filter((line) => typeof line['binding'] === 'string');
      const parts = loaded.map((line) => String(line['file']).split('/').at(-2));
      for (const part of ['text_encoder', 'unet', 'vae_decoder']) assert.ok(parts.includes(part), part);
      const expected = nativeBridge === 'on' ? ['native bridge', 'the native bridge (on) covers cpu'] : ['onnxruntime-node', 'the native bridge is off'];
      for (const line of loaded) assert.deepEqual([line['binding'], line['why']], expected);
    }
    assert.ok((pictures[0]?.length ?? 0) > 0);
    assert.deepEqual(pictures[1], pictures[0]);
  });

  it('ONNX_CUDA_GRAPHS on the CPU: the same picture; `on` says once that the UNet runs without graphs, `auto` says nothing', { timeout: 120_000 }, async () => {
    const pictures: Uint8Array[] = [];
    const warnings: unknown[][] = [];
    for (const graphs of ['off', 'auto', 'on'] as const) {
      const dir = join(processTempDir(), `graphs-${graphs}`);
      mkdirSync(dir);
      copyFileSync(TINY_SD, join(dir, 'a.safetensors'));
      const { pool: models, logs } = await pool(dir, 1, { ONNX_NATIVE_BRIDGE: 'on', ONNX_CUDA_GRAPHS: graphs });
      pools.push(models);
      pictures.push(await pictureOf(models, 'a'));
      const graphLines = logs.filter((line) => String(line['msg']).includes('CUDA graphs'));
      warnings.push(graphLines.map((line) => [line['level'], line['msg'], String(line['file']).split('/').at(-2), line['provider']]));
    }
    assert.ok((pictures[0]?.length ?? 0) > 0);
    assert.deepEqual(pictures[1], pictures[0]);
    assert.deepEqual(pictures[2], pictures[0]);
    // The pool converts for the CPU, into the portable form, which CUDA graphs cannot capture.
    const unetWithout = [40, 'CUDA graphs need the UNet in the CUDA form of the graphs (converted for the CUDA provider); this model runs without them', 'unet', undefined];
    assert.deepEqual(warnings, [[], [], [unetWithout]]);
  });

  it('leaves out at start what is no checkpoint; a model that fails to load is broken until its files change', { timeout: 120_000 }, async () => {
    const dir = join(processTempDir(), 'models');
    mkdirSync(dir);
    copyFileSync(TINY_LORA, join(dir, 'a-lora.safetensors'));
    const broken = join(dir, 'damaged');
    cpSync('test/fixtures/tiny-sd', broken, { recursive: true });
    writeFileSync(join(broken, 'unet', 'model.onnx'), 'not an ONNX graph');
    const { pool: models, logs } = await pool(dir, 16);
    pools.push(models);
    assert.deepEqual(models.models.map((model) => model.name), ['damaged']);
    const leftOut = said(logs, 'a MODELS_DIR model cannot be used; left out');
    assert.deepEqual(leftOut.map((line) => line['model']), ['a-lora']);
    assert.match(String(leftOut[0]?.['reason']), /looks like a LoRA/);

    const failure = async () => {
      const error = await draw(models, 'damaged').then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof FailureError, String(error));
      return error.failure;
    };
    const first = await failure();
    assert.equal(first.code, 'MODEL_BROKEN');
    assert.equal(first.details['model'], 'damaged');
    assert.match(String(first.details['reason']), /model\.onnx/);
    // Said to members before queuing, and not loaded again while the file is the same.
    assert.equal(models.models[0]?.broken, first.details['reason']);
    assert.equal((await failure()).code, 'MODEL_BROKEN');
    assert.equal(said(logs, 'model cannot be used until its file changes').length, 1);

    copyFileSync('test/fixtures/tiny-sd/unet/model.onnx', join(broken, 'unet', 'model.onnx'));
    assert.equal(models.models[0]?.broken, undefined);
    await draw(models, 'damaged');
    assert.deepEqual(models.loadedModels, ['damaged']);
  });

  it("applies a sidecar's prediction and zeroTerminalSnr: the model is served and drawn as v-prediction on a zero-SNR schedule", { timeout: 120_000 }, async () => {
    const dir = join(processTempDir(), 'models');
    mkdirSync(dir);
    copyFileSync(TINY_SD, join(dir, 'plain.safetensors'));
    copyFileSync(TINY_SD, join(dir, 'v-tune.safetensors'));
    writeFileSync(join(dir, 'v-tune.json'), JSON.stringify({ prediction: 'v', zeroTerminalSnr: true }));
    const { pool: models } = await pool(dir, 16);
    pools.push(models);
    assert.deepEqual(models.models.map((model) => model.name), ['plain', 'v-tune']);
    const config = models.models[1]?.schedulerConfig;
    assert.equal(config?.['prediction_type'], 'v_prediction');
    assert.equal(config?.['rescale_betas_zero_snr'], true);
    // The same weights drawn by both modes' samplers: the sidecar's reading reaches the pipeline.
    for (const compat of ['diffusers', 'a1111'] as const) {
      assert.notDeepEqual(await pictureOf(models, 'v-tune', { compat }), await pictureOf(models, 'plain', { compat }), compat);
    }
    // A1111 mode writes the noise schedule as A1111 does.
    const { images } = await models.generate({ ...TINY_REQUEST, compat: 'a1111', model: 'v-tune' }, { signal: new AbortController().signal, onProgress: () => undefined });
    assert.match(images[0]?.parameters ?? '', /, Noise Schedule: Zero Terminal SNR/);
    // A sampler whose diffusers class has no zero-SNR schedule is refused, naming the setting (not drawn without it).
    const refused = await pictureOf(models, 'v-tune', { compat: 'diffusers', sampler: 'lms' }).then(() => undefined, (error: unknown) => error);
    assert.match(String(refused), /rescale_betas_zero_snr/);
  });
});
