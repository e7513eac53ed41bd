import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { isPipelineError } from '../../src/pipeline/errors.js';
import { parseProviderChoice, providerCandidates } from '../../src/pipeline/runtime/providers.js';
import { SessionFactory } from '../../src/pipeline/runtime/session-factory.js';
import { FloatInput, readFloats } from '../../src/pipeline/runtime/tensor.js';
import { tempDir } from '../support/temp-dir.js';

const VAE_DECODER = 'test/fixtures/tiny-sd/vae_decoder/model.onnx';

function latentFeed(): FloatInput {
  const input = new FloatInput('float32', [1, 4, 8, 8]);
  input.values.forEach((_, i, values) => (values[i] = Math.sin(i)));
  return input;
}

describe('execution providers', () => {
  it('auto tries the GPU providers of the platform, then the CPU', () => {
    assert.deepEqual(providerCandidates('auto', 'linux'), ['cuda', 'webgpu', 'cpu']);
    assert.deepEqual(providerCandidates('auto', 'win32'), ['cuda', 'dml', 'webgpu', 'cpu']);
    assert.deepEqual(providerCandidates('auto', 'darwin'), ['cuda', 'coreml', 'webgpu', 'cpu']);
  });

  it('an explicit provider is the only candidate', () => {
    assert.deepEqual(providerCandidates('dml', 'linux'), ['dml']);
  });

  it('parses provider names and rejects others with the allowed list', () => {
    assert.equal(parseProviderChoice('webgpu'), 'webgpu');
    assert.throws(
      () => parseProviderChoice('tpu'),
      (error) =>
        isPipelineError(error, 'INVALID_REQUEST') && /auto, cuda, dml, coreml, webgpu, cpu/.test(error.message),
    );
  });
});

describe('SessionFactory', () => {
  it('reads the graph inputs and outputs and runs the model', async () => {
    const factory = new SessionFactory({ provider: 'cpu' });
    const session = await factory.load(VAE_DECODER);
    assert.equal(session.provider, 'cpu');
    const shape = ['batch', 4, 'height', 'width'];
    assert.deepEqual(session.inputs, [{ name: 'latent_sample', type: 'float32', shape }]);
    assert.equal(session.outputs[0]?.name, 'sample');
    const clock = { modelMs: 0 };
    const out = await session.run({ latent_sample: latentFeed().tensor() }, clock);
    assert.deepEqual(out.sample?.dims, [1, 3, 64, 64]);
    assert.ok(clock.modelMs > 0);
    await factory.releaseAll();
  });

  it('creates one session per file, however the path is spelled', async () => {
    const factory = new SessionFactory({ provider: 'cpu' });
    const a = await factory.load(VAE_DECODER);
    const b = await factory.load(resolve(VAE_DECODER));
    assert.equal(a, b);
    await factory.releaseAll();
  });

  it('auto falls back to the CPU here and logs the provider each model loaded on', async () => {
    const lines: { level: string; message: string; fields: Readonly<Record<string, unknown>> }[] = [];
    const factory = new SessionFactory({ log: (level, message, fields) => lines.push({ level, message, fields }) });
    const session = await factory.load(VAE_DECODER);
    assert.equal(session.provider, 'cpu');
    const loaded = lines.find((line) => line.message === 'model loaded');
    assert.equal(loaded?.fields.provider, 'cpu');
    assert.equal(loaded?.fields.file, VAE_DECODER);
    await factory.releaseAll();
  });

  it('an explicit provider that cannot load fails loudly', async () => {
    const factory = new SessionFactory({ provider: 'dml' });
    await assert.rejects(
      factory.load(VAE_DECODER),
      (error) => isPipelineError(error, 'PROVIDER_UNAVAILABLE') && error.message.includes(VAE_DECODER),
    );
  });

  it('reports a missing file and a corrupt file by name', async () => {
    const dir = tempDir();
    const factory = new SessionFactory({ provider: 'cpu' });
    const missing = join(dir, 'missing.onnx');
    await assert.rejects(
      factory.load(missing),
      (error) => isPipelineError(error, 'MODEL_MISSING_FILE') && error.details.file === missing,
    );
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'this is not an ONNX model');
    await assert.rejects(
      factory.load(garbage),
      (error) => isPipelineError(error, 'MODEL_CORRUPT') && error.message.includes(garbage),
    );
  });

  it('caches the optimized graph and starts from it next time, with the same results', async () => {
    const cacheDir = tempDir();
    const first = new SessionFactory({ provider: 'cpu', cacheDir });
    const uncached = await first.load(VAE_DECODER);
    const reference = readFloats((await uncached.run({ latent_sample: latentFeed().tensor() })).sample!);
    assert.ok(readdirSync(cacheDir).some((name) => name.startsWith('vae_decoder-cpu-') && name.endsWith('.onnx')));
    await first.releaseAll();

    const lines: Readonly<Record<string, unknown>>[] = [];
    const second = new SessionFactory({ provider: 'cpu', cacheDir, log: (_l, _m, fields) => lines.push(fields) });
    const cached = await second.load(VAE_DECODER);
    assert.equal(lines.find((fields) => fields.file === VAE_DECODER)?.cached, true);
    const again = readFloats((await cached.run({ latent_sample: latentFeed().tensor() })).sample!);
    assert.deepEqual(again, reference);
    await second.releaseAll();
  });
});
