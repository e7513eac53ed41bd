// The native bridge to ONNX Runtime's C API (src/pipeline/runtime/native/): on the CPU it must read the same graph
// metadata and give the same numbers as onnxruntime-node's binding, bit for bit, on the real tiny models; where it
// cannot load, the binding runs instead with one log line; where CUDA is missing, `auto` still ends on the CPU.
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { convertCheckpoint } from '../../src/convert/convert.js';
import { loraPatch, readLora } from '../../src/networks/index.js';
import { isPipelineError } from '../../src/pipeline/errors.js';
import { CONVERSION_MANIFEST_FILE } from '../../src/pipeline/models/model-folder.js';
import type { LogLevel } from '../../src/pipeline/logger.js';
import { StableDiffusionPipeline } from '../../src/pipeline/stable-diffusion.js';
import { loadNativeBridge } from '../../src/pipeline/runtime/native/bridge.js';
import { loadCApi, type CFunction } from '../../src/pipeline/runtime/native/c-api.js';
import { MAX_SHAPES } from '../../src/pipeline/runtime/native/device-runs.js';
import { createNativeSession } from '../../src/pipeline/runtime/native/native-session.js';
import { SessionFactory, type SessionFactoryOptions } from '../../src/pipeline/runtime/session-factory.js';
import { ModelSession, type RunClock } from '../../src/pipeline/runtime/session.js';
import { constantTensor, type HostTensor } from '../../src/pipeline/runtime/tensor.js';
import { Unet } from '../../src/pipeline/models/unet.js';
import { UnetBatch } from '../../src/pipeline/unet-batch.js';
import { TINY_LORA, TINY_SD } from '../support/checkpoint-files.js';
import { seededRandom } from '../support/seeded-random.js';
import { processTempDir } from '../support/temp-dir.js';

const TINY = 'test/fixtures/tiny-sd';
const TINY_FP16 = 'test/fixtures/tiny-sd-fp16';

/** The same file loaded through the binding and through the bridge, on the CPU. */
async function bothWays(file: string, options: SessionFactoryOptions = {}): Promise<[ModelSession, ModelSession, () => Promise<void>]> {
  const plain = new SessionFactory({ provider: 'cpu', nativeBridge: 'off' });
  const native = new SessionFactory({ provider: 'cpu', nativeBridge: 'on', ...options });
  const sessions = await Promise.all([plain.load(file), native.load(file)]);
  return [...sessions, () => Promise.all([plain.releaseAll(), native.releaseAll()]).then(() => undefined)];
}

function floats(dims: number[], seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1);
}

function float16Bits(dims: number[], seed: number): Uint16Array {
  // fp16 values in [-1, 1): sign, exponents 0..14, any mantissa.
  const random = seededRandom(seed);
  return Uint16Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.floor(random() * 0x3c00) | (random() < 0.5 ? 0x8000 : 0));
}

function unetFeeds(type: 'float32' | 'float16'): Record<string, HostTensor> {
  const sample = [2, 4, 8, 8];
  const hidden = [2, 77, 16];
  const tensor = (dims: number[], seed: number): HostTensor =>
    type === 'float32' ? { type, dims, data: floats(dims, seed) } : { type, dims, data: float16Bits(dims, seed) };
  return {
    sample: tensor(sample, 1),
    // The fp16 fixture takes integer timesteps, as diffusers' fp16 exports do.
    timestep: type === 'float32' ? { type, dims: [2], data: Float32Array.of(500, 20) } : { type: 'int64', dims: [2], data: BigInt64Array.of(500n, 20n) },
    encoder_hidden_states: tensor(hidden, 2),
  };
}

/** Step `i` of a job: the sample and timestep change, the conditioning (and its object) stays. */
function step(feeds: Record<string, HostTensor>, conditioning: HostTensor, i: number): Record<string, HostTensor> {
  const sample = feeds.sample;
  assert.ok(sample?.type === 'float32' || sample?.type === 'float16');
  const data = sample.type === 'float32' ? floats([...sample.dims], 10 + i) : float16Bits([...sample.dims], 10 + i);
  const timestep = feeds.timestep?.type === 'int64' ? { type: 'int64', dims: [2], data: BigInt64Array.of(BigInt(900 - 100 * i), 20n) } as const : { type: 'float32', dims: [2], data: Float32Array.of(900 - 100 * i, 20) } as const;
  return { sample: { ...sample, data } as HostTensor, timestep, encoder_hidden_states: conditioning };
}

describe('native bridge to the C API, on the CPU', () => {
  it("loads here (koffi and onnxruntime-node's library are installed), so the comparisons below are real", async () => {
    const api = await loadNativeBridge();
    assert.ok(!(api instanceof Error), api instanceof Error ? api.message : '');
    assert.match(api.version, /^1\.\d+\.\d+/);
  });

  it('reads every graph input and output as the binding does', async () => {
    for (const part of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']) {
      const [plain, native, release] = await bothWays(`${TINY}/${part}/model.onnx`);
      assert.deepEqual(native.inputs, plain.inputs, part);
      assert.deepEqual(native.outputs, plain.outputs, part);
      await release();
    }
  });

  it("gives the binding's numbers bit for bit: UNet in float32 and float16, one output of many, int32 inputs", async () => {
    for (const [dir, type] of [[TINY, 'float32'], [TINY_FP16, 'float16']] as const) {
      const [plain, native, release] = await bothWays(`${dir}/unet/model.onnx`);
      const feeds = unetFeeds(type);
      const [expected, actual] = await Promise.all([plain.run(feeds), native.run(feeds)]);
      assert.equal(actual.out_sample?.type, type);
      assert.deepEqual(actual, expected);
      await release();
    }
    const [plain, native, release] = await bothWays(`${TINY}/text_encoder/model.onnx`);
    const ids: HostTensor = { type: 'int32', dims: [1, 77], data: Int32Array.from({ length: 77 }, (_, i) => (i * 37) % 100) };
    const [expected, actual] = await Promise.all([
      plain.run({ input_ids: ids }, undefined, ['hidden_states.2']),
      native.run({ input_ids: ids }, undefined, ['hidden_states.2']),
    ]);
    assert.deepEqual(Object.keys(actual), ['hidden_states.2']);
    assert.deepEqual(actual, expected);
    await release();
  });

  it('makes the same picture through the whole pipeline, and counts its time as model time', async () => {
    const request = { prompt: 'a red fox in the snow', seed: 7, steps: 3, width: 64, height: 64 };
    const pictures = [];
    for (const nativeBridge of ['off', 'on'] as const) {
      const pipeline = await StableDiffusionPipeline.load(TINY, { provider: 'cpu', nativeBridge });
      const result = await pipeline.generate(request);
      assert.ok(result.timing.stepModelMs > 0);
      pictures.push(result.images[0]?.rgb8);
      await pipeline.dispose();
    }
    assert.ok(pictures[0]);
    assert.deepEqual(pictures[1], pictures[0]);
  });

  it('reports ONNX Runtime errors as the binding does: a bad feed names the inputs', async () => {
    const [, native, release] = await bothWays(`${TINY}/vae_decoder/model.onnx`);
    const wrong: HostTensor = { type: 'float32', dims: [1, 3, 8, 8], data: new Float32Array(192) };
    await assert.rejects(
      native.run({ latent_sample: wrong }),
      (error) => isPipelineError(error, 'RUNTIME_ERROR') && error.message.includes('latent_sample: float32[1,3,8,8]'),
    );
    await release();
  });
});

describe("native bridge's IoBinding (a job's UNet steps), on the CPU", () => {
  it("gives the plain run's numbers bit for bit at every step, in float32 and float16, and times ONNX Runtime's call", async () => {
    for (const [dir, type] of [[TINY, 'float32'], [TINY_FP16, 'float16']] as const) {
      const [plain, native, release] = await bothWays(`${dir}/unet/model.onnx`);
      const feeds = unetFeeds(type);
      const conditioning = constantTensor({ ...feeds.encoder_hidden_states } as HostTensor);
      const clock: RunClock = { modelMs: 0 };
      for (let i = 0; i < 3; i++) {
        const [expected, actual] = await Promise.all([plain.run(step(feeds, conditioning, i)), native.run(step(feeds, conditioning, i), clock)]);
        assert.deepEqual(actual, expected, `${type} step ${i}`);
      }
      assert.ok(clock.runCallMs !== undefined && clock.runCallMs > 0 && clock.runCallMs <= clock.modelMs);
      await release();
    }
  });

  it('binds a constant input once per job: a new job (a new tensor) is bound anew; jobs at once each get their own', async () => {
    const [plain, native, release] = await bothWays(`${TINY}/unet/model.onnx`);
    const feeds = unetFeeds('float32');
    const first = constantTensor({ type: 'float32', dims: [2, 77, 16], data: floats([2, 77, 16], 5) } as const);
    await native.run(step(feeds, first, 0));
    // Against its promise, the first job's conditioning changes in place: the bound copy is what runs.
    const original = first.data.slice();
    first.data.fill(0.25);
    const asBound = await plain.run(step(feeds, { ...first, data: original }, 1));
    assert.deepEqual(await native.run(step(feeds, first, 1)), asBound);
    // A second job's conditioning is another tensor: bound at its first step.
    const second = constantTensor({ type: 'float32', dims: [2, 77, 16], data: floats([2, 77, 16], 6) } as const);
    assert.deepEqual(await native.run(step(feeds, second, 0)), await plain.run(step(feeds, second, 0)));
    // Two jobs at once, alternating steps: each run through a binding of its own.
    const jobs = [7, 8].map((seed) => constantTensor({ type: 'float32', dims: [2, 77, 16], data: floats([2, 77, 16], seed) } as const));
    for (let i = 0; i < 2; i++) {
      const runs = await Promise.all(jobs.map((job) => native.run(step(feeds, job, i))));
      for (const [j, job] of jobs.entries()) assert.deepEqual(runs[j], await plain.run(step(feeds, job, i)), `job ${j} step ${i}`);
    }
    await release();
  });

  it('without IoBinding (ioBinding: false) runs as before', async () => {
    const [plain, native, release] = await bothWays(`${TINY}/unet/model.onnx`, { ioBinding: false });
    const feeds = unetFeeds('float32');
    const conditioning = constantTensor({ ...feeds.encoder_hidden_states } as HostTensor);
    assert.deepEqual(await native.run(step(feeds, conditioning, 0)), await plain.run(step(feeds, conditioning, 0)));
    await release();
  });
});

/** How many times each input was bound through the bridge's IoBinding while `action` ran (BindInput observed, not replaced). */
async function bindsDuring<T>(action: () => Promise<T>): Promise<{ result: T; binds: Record<string, number> }> {
  const api = await loadNativeBridge();
  assert.ok(!(api instanceof Error));
  const fn = api.fn as { BindInput: CFunction };
  const bindInput = fn.BindInput;
  const binds: Record<string, number> = {};
  const counted = (...args: unknown[]): unknown => {
    const name = String(args[1]);
    binds[name] = (binds[name] ?? 0) + 1;
    return bindInput(...args);
  };
  fn.BindInput = counted;
  try {
    return { result: await action(), binds };
  } finally {
    fn.BindInput = bindInput;
  }
}

/**
 * Three jobs of 2 rows each (their own conditioning and samples) through one {@link UnetBatch} of at most `maxRows`
 * rows a run, for 3 steps: every job's prediction at every step.
 */
async function batchSteps(session: ModelSession, maxRows: number): Promise<Float32Array[][]> {
  const unet = new Unet(session);
  const batch = new UnetBatch(3, maxRows);
  const jobs = batch.members.map((member, j) => ({
    member,
    unet: unet.routedThrough(member.router),
    inputs: unet.createInputs(2, 8, 8, floats([2, 77, 16], 20 + j), 77),
  }));
  const steps: Float32Array[][] = [];
  for (let i = 0; i < 3; i++) {
    const predictions = jobs.map(({ unet: routed, inputs }, j) => {
      inputs.sample.values.set(floats([...inputs.sample.dims], 100 * j + i));
      return routed.predict(inputs, 900 - 100 * i).then((prediction) => prediction.slice());
    });
    steps.push(await Promise.all(predictions));
  }
  for (const { member } of jobs) member.leave();
  return steps;
}

describe("native bridge's IoBinding for a batch of jobs (UnetBatch), on the CPU", () => {
  it("gives the plain run's predictions bit for bit at every step, in float32 and float16, binding the batch's conditioning once per run", async () => {
    for (const [dir, type] of [[TINY, 'float32'], [TINY_FP16, 'float16']] as const) {
      const [plain, native, release] = await bothWays(`${dir}/unet/model.onnx`);
      // One run of 6 rows a step; or runs of 4 rows and 2 (two jobs, then the third alone, fed as it is alone).
      for (const maxRows of [Number.POSITIVE_INFINITY, 4]) {
        const expected = await batchSteps(plain, maxRows);
        const { result: actual, binds } = await bindsDuring(() => batchSteps(native, maxRows));
        for (const [i, step] of actual.entries()) assert.deepEqual(step, expected[i], `${type}, at most ${maxRows} rows, step ${i}`);
        // Bound at the first step of each run (the two jobs' joined, the third job's own), kept for the next two.
        assert.equal(binds.encoder_hidden_states, maxRows === 4 ? 2 : 1, `${type}, at most ${maxRows} rows`);
        assert.equal(binds.sample, 3 * (maxRows === 4 ? 2 : 1));
      }
      await release();
    }
  });

  it("each picture of a batch is the job's alone (through the plain binding), the batch's conditioning bound once", async () => {
    const requests = [
      { prompt: 'a red fox in the snow', seed: 7, count: 2 },
      { prompt: 'a lighthouse at dusk', negativePrompt: 'blurry', seed: 4242 },
      { prompt: 'an astronaut riding a horse', seed: 11 },
    ].map((request) => ({ ...request, steps: 3, width: 64, height: 64 }));
    const plain = await StableDiffusionPipeline.load(TINY, { provider: 'cpu' });
    const alone = [];
    for (const request of requests) alone.push(await plain.generate(request));
    await plain.dispose();
    const native = await StableDiffusionPipeline.load(TINY, { provider: 'cpu', nativeBridge: 'on' });
    const { result: batched, binds } = await bindsDuring(() => Promise.all(native.generateBatch(requests.map((request) => ({ request })))));
    await native.dispose();
    for (const [i, result] of batched.entries()) {
      assert.deepEqual(result.images.map(({ rgb8 }) => rgb8), alone[i]?.images.map(({ rgb8 }) => rgb8), `request ${i}`);
    }
    assert.equal(binds.encoder_hidden_states, 1);
  });
});

describe("native bridge's buffers kept in the provider's memory (what CUDA graphs run on), on the CPU", () => {
  it("gives the plain run's numbers bit for bit at every step and shape, copying a job's conditioning in once", async () => {
    const api = await loadNativeBridge();
    assert.ok(!(api instanceof Error));
    const lines: string[] = [];
    const log = (_level: LogLevel, message: string): number => lines.push(message);
    for (const [dir, type] of [[TINY, 'float32'], [TINY_FP16, 'float16']] as const) {
      const file = `${dir}/unet/model.onnx`;
      const plain = new SessionFactory({ provider: 'cpu', nativeBridge: 'off' });
      const reference = await plain.load(file);
      const resident = await createNativeSession(api, file, { provider: 'cpu', config: {}, deviceResident: true, log });
      const feeds = unetFeeds(type);
      const conditioning = constantTensor({ ...feeds.encoder_hidden_states } as HostTensor);
      for (let i = 0; i < 3; i++) {
        const [expected, actual] = await Promise.all([reference.run(step(feeds, conditioning, i)), resident.run(step(feeds, conditioning, i))]);
        assert.deepEqual(actual, expected, `${type} step ${i}`);
      }
      // Changed in place against its promise: the copy made at the first step is what runs.
      if (conditioning.type === 'float32') {
        const original = conditioning.data.slice();
        conditioning.data.fill(0.5);
        assert.deepEqual(await resident.run(step(feeds, conditioning, 3)), await reference.run(step(feeds, { ...conditioning, data: original }, 3)));
      }
      // Other shapes (batch 1, other latent sizes) get buffers of their own, up to MAX_SHAPES; beyond, runs go without.
      for (const side of [4, 6, 10, 12]) {
        const dims = [2, 4, side, side];
        const sample: HostTensor = type === 'float32' ? { type, dims, data: floats(dims, side) } : { type, dims, data: float16Bits(dims, side) };
        const small = { ...step(feeds, conditioning, 0), sample };
        assert.deepEqual(await resident.run(small), await reference.run(small), `${type} ${side}²`);
      }
      await Promise.all([resident.release(), plain.releaseAll()]);
    }
    assert.equal(MAX_SHAPES, 4);
    assert.deepEqual(lines, Array(2).fill('a model run of a new shape beyond the 4 kept on the device runs without CUDA graphs'));
  });

  it("a batch's runs go through IoBinding, not the kept buffers: a job's shapes keep every place there", async () => {
    const api = await loadNativeBridge();
    assert.ok(!(api instanceof Error));
    const lines: string[] = [];
    const log = (_level: LogLevel, message: string): number => lines.push(message);
    const file = `${TINY}/unet/model.onnx`;
    const plain = new SessionFactory({ provider: 'cpu', nativeBridge: 'off' });
    const reference = await plain.load(file);
    const resident = new ModelSession(await createNativeSession(api, file, { provider: 'cpu', config: {}, deviceResident: true, log }), file, 'cpu');
    // Batches of 6 rows, then of 4 (two jobs) and 2 (the third job, fed as it is alone: its shape is a job's).
    for (const maxRows of [Number.POSITIVE_INFINITY, 4]) assert.deepEqual(await batchSteps(resident, maxRows), await batchSteps(reference, maxRows));
    const feeds = unetFeeds('float32');
    const conditioning = constantTensor({ ...feeds.encoder_hidden_states } as HostTensor);
    for (const side of [4, 6, 10]) {
      const dims = [2, 4, side, side];
      const job = { ...step(feeds, conditioning, 0), sample: { type: 'float32', dims, data: floats(dims, side) } as const };
      assert.deepEqual(await resident.run(job), await reference.run(job), `${side}²`);
    }
    assert.deepEqual(lines, []);
    await Promise.all([resident.release(), plain.releaseAll()]);
  });

  it('after a failed run on the kept buffers, runs without them from now on, said once', async () => {
    const api = await loadNativeBridge();
    assert.ok(!(api instanceof Error));
    const lines: string[] = [];
    const log = (_level: LogLevel, message: string): number => lines.push(message);
    const file = `${TINY}/unet/model.onnx`;
    const resident = await createNativeSession(api, file, { provider: 'cpu', config: {}, deviceResident: true, log });
    const feeds = unetFeeds('float32');
    const conditioning = constantTensor({ ...feeds.encoder_hidden_states } as HostTensor);
    // An input the graph does not have fails on the buffers, then the same way without them: the caller hears it.
    await assert.rejects(resident.run({ ...step(feeds, conditioning, 0), bogus: conditioning }), /bogus/);
    assert.deepEqual(lines, ['a run on the device buffers of CUDA graphs failed; this model runs without them from now on']);
    const plain = new SessionFactory({ provider: 'cpu', nativeBridge: 'off' });
    assert.deepEqual(await resident.run(step(feeds, conditioning, 1)), await (await plain.load(file)).run(step(feeds, conditioning, 1)));
    assert.equal(lines.length, 1);
    await Promise.all([resident.release(), plain.releaseAll()]);
  });
});

describe('native bridge for LoRA-merged sessions (weights from memory), on the CPU', () => {
  it("makes the binding's merged picture, each merged session created through the bridge, its UNet steps through IoBinding", async () => {
    const dir = join(processTempDir(), 'tiny-sd-lora');
    await convertCheckpoint(TINY_SD, dir, { dtype: 'fp32' });
    const lora = await readLora(TINY_LORA);
    const request = { prompt: 'a red fox in the snow', seed: 7, steps: 3, width: 64, height: 64 };
    const pictures = [];
    for (const nativeBridge of ['off', 'on'] as const) {
      const merged: unknown[][] = [];
      const log = (_level: LogLevel, message: string, fields: Readonly<Record<string, unknown>>): void => {
        if (message === 'model loaded with merged weights') merged.push([String(fields.file).split('/').at(-2), fields.binding]);
      };
      const pipeline = await StableDiffusionPipeline.load(dir, { provider: 'cpu', nativeBridge, log });
      const weights = pipeline.info.patchableWeights;
      assert.ok(weights);
      const networks = [loraPatch(lora, { name: 'tiny-lora', te: 0.5, unet: 0.5 }, weights)];
      const unmerged = (await pipeline.generate(request)).images[0]?.rgb8;
      const { result, binds } = await bindsDuring(() => pipeline.generate({ ...request, networks }));
      await pipeline.dispose();
      const picture = result.images[0]?.rgb8;
      // The merged weights are what ran: the picture is not the model's own.
      assert.ok(picture && unmerged);
      assert.notDeepEqual(picture, unmerged);
      pictures.push(picture);
      const binding = nativeBridge === 'on' ? 'native bridge' : 'onnxruntime-node';
      assert.deepEqual(merged.sort(), [['text_encoder', binding], ['unet', binding]]);
      assert.equal(binds.encoder_hidden_states, nativeBridge === 'on' ? 1 : undefined);
    }
    assert.deepEqual(pictures[1], pictures[0]);
  });
});

describe('native bridge fallbacks', () => {
  it('a library that cannot load is said once and the binding runs, with the same numbers', async () => {
    const lines: { level: LogLevel; message: string; fields: Readonly<Record<string, unknown>> }[] = [];
    const log = (level: LogLevel, message: string, fields: Readonly<Record<string, unknown>>): number => lines.push({ level, message, fields });
    const missing = (): Promise<Error> => loadCApi('/nonexistent/libonnxruntime.so.1').then(
      () => new Error('unexpectedly loaded'),
      (error: unknown) => error as Error,
    );
    const factory = new SessionFactory({ provider: 'cpu', nativeBridge: 'on', loadBridge: missing, log });
    const unet = await factory.load(`${TINY}/unet/model.onnx`);
    await factory.load(`${TINY}/vae_decoder/model.onnx`);
    const warnings = lines.filter((line) => line.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]?.message ?? '', /native ONNX Runtime bridge unavailable/);
    assert.match(String(warnings[0]?.fields.reason), /nonexistent/);
    // Each session's own line says which binding runs it and why.
    const loaded = lines.filter((line) => line.message === 'model loaded');
    assert.equal(loaded.length, 2);
    for (const { fields } of loaded) {
      assert.deepEqual([fields.binding, fields.why], ['onnxruntime-node', 'the native bridge cannot load here (see its warning)']);
    }
    const [plain, , release] = await bothWays(`${TINY}/unet/model.onnx`);
    assert.deepEqual(await unet.run(unetFeeds('float32')), await plain.run(unetFeeds('float32')));
    await Promise.all([factory.releaseAll(), release()]);
  });

  it('CUDA graphs asked for on the CPU: the UNet runs without them, said once, and the picture is the same', async () => {
    const request = { prompt: 'a red fox in the snow', seed: 7, steps: 3, width: 64, height: 64 };
    const plain = await StableDiffusionPipeline.load(TINY, { provider: 'cpu' });
    const expected = (await plain.generate(request)).images[0]?.rgb8;
    await plain.dispose();
    assert.ok(expected);
    // The same graphs recorded by a converter's manifest as the CUDA form: graphs are then only refused for the provider.
    const markedCuda = join(processTempDir(), 'tiny-sd-marked-cuda');
    cpSync(TINY, markedCuda, { recursive: true });
    writeFileSync(join(markedCuda, CONVERSION_MANIFEST_FILE), JSON.stringify({ converter: 'dreamcord', target: 'cuda' }));
    const cases = [
      [TINY, 'off', ['CUDA graphs need the UNet in the CUDA form of the graphs (converted for the CUDA provider); this model runs without them', 'unet', undefined]],
      [markedCuda, 'on', ['CUDA graphs need the CUDA provider through the native bridge; this model runs without them', 'unet', 'native bridge']],
      [markedCuda, 'off', ['CUDA graphs need the CUDA provider through the native bridge; this model runs without them', 'unet', 'onnxruntime-node']],
    ] as const;
    for (const [dir, nativeBridge, warning] of cases) {
      const lines: { message: string; fields: Readonly<Record<string, unknown>> }[] = [];
      const log = (level: LogLevel, message: string, fields: Readonly<Record<string, unknown>>): void => {
        if (level === 'warn') lines.push({ message, fields });
      };
      const pipeline = await StableDiffusionPipeline.load(dir, { provider: 'cpu', nativeBridge, cudaGraph: 'on', log });
      assert.deepEqual((await pipeline.generate(request)).images[0]?.rgb8, expected);
      await pipeline.dispose();
      assert.deepEqual(
        lines.map(({ message, fields }) => [message, String(fields.file).split('/').at(-2), fields.binding]),
        [warning],
      );
    }
  });

  it('without the CUDA provider, `auto` passes over CUDA through the bridge and lands on the CPU', async () => {
    const lines: Readonly<Record<string, unknown>>[] = [];
    const factory = new SessionFactory({ nativeBridge: 'on', log: (_level, _message, fields) => lines.push(fields) });
    const session = await factory.load(`${TINY}/vae_decoder/model.onnx`);
    assert.equal(session.provider, 'cpu');
    assert.ok(lines.some((fields) => fields.provider === 'cuda' && typeof fields.reason === 'string'));
    await factory.releaseAll();
  });

  it('an explicit CUDA that cannot load through the bridge fails loudly, naming the file', async () => {
    const factory = new SessionFactory({ provider: 'cuda', nativeBridge: 'auto' });
    await assert.rejects(
      factory.load(`${TINY}/vae_decoder/model.onnx`),
      (error) => isPipelineError(error, 'PROVIDER_UNAVAILABLE') && error.message.includes('vae_decoder/model.onnx'),
    );
  });
});
