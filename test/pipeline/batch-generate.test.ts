// Batching across requests: every picture of a batch is the picture its request makes alone, and the batch's UNet
// evaluations of a step run as one model run.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  isPipelineError,
  StableDiffusionPipeline,
  type GenerateRequest,
  type GenerateResult,
  type RgbImage,
} from '../../src/pipeline/index.js';
import { ModelSession } from '../../src/pipeline/runtime/session.js';
import { JoinedInputs } from '../../src/pipeline/models/joined-inputs.js';
import { concatRows, constantScope, constantTensor, splitRows } from '../../src/pipeline/runtime/tensor.js';

const TINY_SD = 'test/fixtures/tiny-sd';

/** Three requests that share everything a batch needs and differ in prompt, negative prompt, seed and count. */
function requests(shared: Partial<GenerateRequest>): GenerateRequest[] {
  const base = { steps: 5, cfg: 7.5, width: 64, height: 64, rng: 'cpu', promptSyntax: 'plain', ...shared } as const;
  return [
    { ...base, prompt: 'a red fox in the snow', seed: 11, count: 2 },
    { ...base, prompt: 'a lighthouse at dusk', negativePrompt: 'blurry', seed: 4242 },
    { ...base, prompt: 'an astronaut riding a horse', negativePrompt: 'low quality, text', seed: 7, count: 1 },
  ];
}

/** The UNet batch size of every UNet run while `action` runs (ModelSession.run observed, not replaced). */
async function unetBatches<T>(action: () => Promise<T>): Promise<{ result: T; batches: number[] }> {
  const batches: number[] = [];
  const run = Object.getOwnPropertyDescriptor(ModelSession.prototype, 'run')?.value as ModelSession['run'];
  ModelSession.prototype.run = function (this: ModelSession, feeds, ...rest) {
    if (feeds.timestep) batches.push(feeds.sample?.dims[0] ?? 0);
    return run.call(this, feeds, ...rest);
  };
  try {
    return { result: await action(), batches };
  } finally {
    ModelSession.prototype.run = run;
  }
}

function assertSamePictures(batched: GenerateResult, alone: GenerateResult, label: string): void {
  assert.equal(batched.images.length, alone.images.length, label);
  batched.images.forEach((image, i) => {
    assert.equal(image.seed, alone.images[i]?.seed, `${label}: seed of picture ${i}`);
    assert.deepEqual(image.image.data, alone.images[i]?.image.data, `${label}: picture ${i} differs from the request alone`);
  });
}

describe('StableDiffusionPipeline.generateBatch', () => {
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    pipeline = await StableDiffusionPipeline.load(TINY_SD, { provider: 'cpu' });
  });
  after(() => pipeline.dispose());

  /** Each request run alone, one after the other. */
  async function oneByOne(batch: readonly GenerateRequest[]): Promise<GenerateResult[]> {
    const results = [];
    for (const request of batch) results.push(await pipeline.generate(request));
    return results;
  }

  const cases: Array<[string, Partial<GenerateRequest>]> = [
    ['Euler, batch seeds', { sampler: 'euler', seedMode: 'batch' }],
    ['Euler a (ancestral), per-image seeds', { sampler: 'euler_a', seedMode: 'per-image' }],
    ['DPM++ 2M Karras, per-image seeds, GPU noise', { sampler: 'dpmpp_2m_karras', seedMode: 'per-image', rng: 'gpu' }],
    ['Heun (two calls a step), batch seeds', { sampler: 'heun', seedMode: 'batch' }],
    ['A1111 mode, Euler a', { sampler: 'euler_a', compat: 'a1111', promptSyntax: 'a1111' }],
    ['A1111 mode, DPM2 a', { sampler: 'dpm2_a', compat: 'a1111', promptSyntax: 'a1111', rng: 'gpu' }],
  ];
  for (const [label, shared] of cases) {
    it(`${label}: each picture is the one its request makes alone, from one UNet run per step`, async () => {
      const batch = requests(shared);
      const alone = await oneByOne(batch);
      const { result, batches } = await unetBatches(() => Promise.all(pipeline.generateBatch(batch.map((request) => ({ request })))));
      result.forEach((batched, i) => assertSamePictures(batched, alone[i] as GenerateResult, `${label}, request ${i}`));
      // 2 rows per picture (guidance) × 4 pictures, every step.
      assert.equal(batches.length, alone[0]?.timing.steps);
      assert.ok(batches.every((rows) => rows === 8), `UNet batches ${batches.join(',')}`);
    });
  }

  it('img2img: each picture is the one its request makes alone', async () => {
    const initImage: RgbImage = { width: 64, height: 64, channels: 3, data: new Float32Array(64 * 64 * 3).map((_, i) => (i % 97) / 97) };
    const batch = requests({ sampler: 'euler_a', seedMode: 'per-image', initImage, strength: 0.6 });
    const alone = await oneByOne(batch);
    const batched = await Promise.all(pipeline.generateBatch(batch.map((request) => ({ request }))));
    batched.forEach((result, i) => assertSamePictures(result, alone[i] as GenerateResult, `img2img request ${i}`));
  });

  it('keeps each run within maxRows, a larger request alone, and the pictures the same', async () => {
    const batch = requests({ sampler: 'euler', seedMode: 'per-image' });
    const alone = await oneByOne(batch);
    const { result, batches } = await unetBatches(() =>
      Promise.all(pipeline.generateBatch(batch.map((request) => ({ request })), { maxRows: 2 })),
    );
    result.forEach((batched, i) => assertSamePictures(batched, alone[i] as GenerateResult, `request ${i}`));
    // Per step: the first request's 4 rows alone (over the cap), then one run of 2 rows for each other request.
    assert.deepEqual(batches.slice(0, 3), [4, 2, 2]);
  });

  it('a request cancelled mid-batch leaves it: its rows are dropped, the others finish as alone', async () => {
    const batch = requests({ sampler: 'euler_a', seedMode: 'per-image' });
    const alone = await oneByOne(batch);
    const controller = new AbortController();
    const { result, batches } = await unetBatches(() =>
      Promise.allSettled(
        pipeline.generateBatch([
          { request: batch[0] as GenerateRequest },
          { request: batch[1] as GenerateRequest, hooks: { signal: controller.signal, onProgress: (step) => step === 2 && controller.abort() } },
          { request: batch[2] as GenerateRequest },
        ]),
      ),
    );
    const [first, cancelled, third] = result;
    assert.ok(cancelled?.status === 'rejected' && isPipelineError(cancelled.reason) && cancelled.reason.code === 'CANCELLED');
    assert.ok(first?.status === 'fulfilled' && third?.status === 'fulfilled');
    assertSamePictures(first.value, alone[0] as GenerateResult, 'first');
    assertSamePictures(third.value, alone[2] as GenerateResult, 'third');
    assert.deepEqual(batches, [8, 8, 6, 6, 6]);
  });

  it('a member that leaves takes its joined inputs with it: the mix it ran in is not kept to the batch end', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const batch = requests({ sampler: 'euler', seedMode: 'per-image' });
    const controller = new AbortController();
    // The joined conditioning of the first step (all three members), then whether it was collected at the last.
    let firstMix: WeakRef<object> | undefined;
    let collected: boolean | undefined;
    const run = Object.getOwnPropertyDescriptor(ModelSession.prototype, 'run')?.value as ModelSession['run'];
    ModelSession.prototype.run = function (this: ModelSession, feeds, ...rest) {
      const conditioning = feeds.encoder_hidden_states;
      if (feeds.timestep && conditioning) {
        firstMix ??= new WeakRef(conditioning);
        if (conditioning.dims[0] === 6) {
          gc();
          collected = firstMix.deref() === undefined;
        }
      }
      return run.call(this, feeds, ...rest);
    };
    try {
      await Promise.allSettled(
        pipeline.generateBatch([
          { request: batch[0] as GenerateRequest },
          { request: batch[1] as GenerateRequest, hooks: { signal: controller.signal, onProgress: (step) => step === 2 && controller.abort() } },
          { request: batch[2] as GenerateRequest },
        ]),
      );
    } finally {
      ModelSession.prototype.run = run;
    }
    assert.equal(collected, true, 'the first mix was still kept after its member left');
  });

  it('a request that fails before its first step does not hold up the others', async () => {
    const [good] = requests({ sampler: 'euler' });
    const results = await Promise.allSettled(
      pipeline.generateBatch([{ request: good as GenerateRequest }, { request: { ...(good as GenerateRequest), steps: 0 } }]),
    );
    assert.equal(results[0]?.status, 'fulfilled');
    assert.ok(results[1]?.status === 'rejected' && isPipelineError(results[1].reason) && results[1].reason.code === 'INVALID_REQUEST');
  });
});

describe('fp16 UNet in a batch', () => {
  it('each picture is the one its request makes alone (every member converts its own rows)', async () => {
    const fp16 = await StableDiffusionPipeline.load('test/fixtures/tiny-sd-fp16', { provider: 'cpu' });
    try {
      const batch = requests({ sampler: 'euler_a', seedMode: 'per-image' });
      const alone: GenerateResult[] = [];
      for (const request of batch) alone.push(await fp16.generate(request));
      const batched = await Promise.all(fp16.generateBatch(batch.map((request) => ({ request }))));
      batched.forEach((result, i) => assertSamePictures(result, alone[i] as GenerateResult, `fp16 request ${i}`));
    } finally {
      await fp16.dispose();
    }
  });
});

describe('batch rows of a tensor', () => {
  it('joins tensors along the batch axis and splits them back into views', () => {
    const a = { type: 'float16', dims: [1, 2], data: Uint16Array.of(1, 2) } as const;
    const b = { type: 'float16', dims: [2, 2], data: Uint16Array.of(3, 4, 5, 6) } as const;
    const joined = concatRows([a, b]);
    assert.deepEqual(joined, { type: 'float16', dims: [3, 2], data: Uint16Array.of(1, 2, 3, 4, 5, 6) });
    const [first, second] = splitRows(joined, [1, 2]);
    assert.deepEqual(first, a);
    assert.deepEqual(second, b);
    assert.equal(second?.data.buffer, joined.data.buffer);
  });

  it('refuses tensors of other types or shapes, and rows that do not add up', () => {
    const a = { type: 'float32', dims: [1, 2], data: Float32Array.of(1, 2) } as const;
    assert.throws(() => concatRows([a, { type: 'float32', dims: [1, 3], data: new Float32Array(3) }]), /cannot join float32\[1,3\] to float32\[1,2\]/);
    assert.throws(() => concatRows([a, { type: 'int32', dims: [1, 2], data: new Int32Array(2) }]), /cannot join int32/);
    assert.throws(() => splitRows(a, [2]), /cannot split 1 rows into parts of 2/);
    assert.throws(() => concatRows([a, a], concatRows([a])), /cannot join float32\[2,2\] into float32\[1,2\]/);
  });

  it("keeps a batch's joined inputs: the same constant tensor from the same constant parts, a rewritten buffer otherwise", () => {
    const joins = new JoinedInputs();
    const [a, b] = [Float32Array.of(1, 2), Float32Array.of(3, 4)].map((data) => constantTensor({ type: 'float32', dims: [1, 2], data } as const));
    assert.ok(a && b);
    const [ownerA, ownerB] = [{}, {}];
    const conditioning = joins.join([a, b], [ownerA, ownerB]);
    assert.deepEqual(conditioning, { type: 'float32', dims: [2, 2], data: Float32Array.of(1, 2, 3, 4) });
    assert.equal(constantScope(conditioning), 'batch');
    assert.equal(joins.join([a, b], [ownerA, ownerB]), conditioning);
    // Other parts (a member left, a run of other jobs) are another join; one part is itself.
    const swapped = joins.join([b, a], [ownerB, ownerA]);
    assert.notEqual(swapped, conditioning);
    assert.equal(joins.join([a], [ownerA]), a);
    const sample = { type: 'float32', dims: [1, 2], data: Float32Array.of(5, 6) } as const;
    const ownerC = {};
    const samples = joins.join([a, sample], [ownerA, ownerC]);
    assert.equal(constantScope(samples), undefined);
    sample.data.set([7, 8]);
    assert.equal(joins.join([a, sample], [ownerA, ownerC]), samples);
    assert.deepEqual(samples.data, Float32Array.of(1, 2, 7, 8));
    // B leaves: the joins with its parts go; the others stay.
    joins.forget(new Set([ownerB]));
    assert.notEqual(joins.join([a, b], [ownerA, ownerB]), conditioning);
    assert.notEqual(joins.join([b, a], [ownerB, ownerA]), swapped);
    assert.equal(joins.join([a, sample], [ownerA, ownerC]), samples);
  });
});
