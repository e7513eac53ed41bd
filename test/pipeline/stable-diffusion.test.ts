import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferenceSession } from 'onnxruntime-node';
import {
  isPipelineError,
  StableDiffusionPipeline,
  type GenerateRequest,
  type GenerateResult,
  type Mask,
  type Rgb8Image,
  type RgbImage,
} from '../../src/pipeline/index.js';
import { loadStableDiffusionModel } from '../../src/pipeline/models/stable-diffusion-model.js';
import { resolveRequest } from '../../src/pipeline/request.js';
import { SessionFactory } from '../../src/pipeline/runtime/session-factory.js';
import { encodePrompt } from '../../src/pipeline/steps.js';
import { TimingRecorder } from '../../src/pipeline/timing.js';
import { tempDir } from '../support/temp-dir.js';
import { maxAbsDifference } from './harness.js';

const TINY_SD = 'test/fixtures/tiny-sd';

/** The t2i_pndm reference case's settings (64 × 64, 10 PNDM steps). */
const BASE: GenerateRequest = {
  prompt: 'a photograph of an astronaut riding a horse',
  seed: 42,
  steps: 10,
  cfg: 7.5,
  width: 64,
  height: 64,
  sampler: 'pndm',
  rng: 'cpu',
  promptSyntax: 'plain',
};

function pixels(result: GenerateResult, index = 0): Float32Array {
  const image = result.images[index];
  assert.ok(image, `image ${index}`);
  return image.image.data;
}

/** A writable copy of a fixture model folder (the fixtures themselves are read-only). */
function copyModel(name: string): string {
  const target = join(tempDir(), name);
  const copy = (from: string, to: string): void => {
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from)) {
      const source = join(from, entry);
      if (statSync(source).isDirectory()) copy(source, join(to, entry));
      else copyFileSync(source, join(to, entry));
    }
  };
  copy(join('test/fixtures', name), target);
  return target;
}

function replaceFile(file: string, contents: string): void {
  rmSync(file);
  writeFileSync(file, contents);
}

describe('StableDiffusionPipeline', () => {
  let pipeline: StableDiffusionPipeline;
  let reference: GenerateResult;

  before(async () => {
    pipeline = await StableDiffusionPipeline.load(TINY_SD, { provider: 'cpu' });
    reference = await pipeline.generate(BASE);
  });
  after(() => pipeline.dispose());

  it('describes the loaded model', () => {
    assert.deepEqual(pipeline.info, {
      dir: TINY_SD,
      family: 'sd1',
      predictionType: 'epsilon',
      nativeSize: 512,
      sizeBuckets: [],
      inpainting: false,
      imageInput: true,
      embeddings: [],
      maxClipSkip: 1,
      patchableWeights: undefined,
      schedulerConfig: JSON.parse(readFileSync(join(TINY_SD, 'scheduler', 'scheduler_config.json'), 'utf8')) as unknown,
      providers: { textEncoder: 'cpu', unet: 'cpu', vaeDecoder: 'cpu', vaeEncoder: 'cpu' },
    });
  });

  it('leaves embeddings out, with a warning, when the text encoder takes none (an export not made by dreamcord)', async () => {
    const warnings: string[] = [];
    const withEmbeddings = await StableDiffusionPipeline.load(TINY_SD, {
      provider: 'cpu',
      embeddings: [{ name: 'tinytok', count: 1, vectors: new Float32Array(16) }],
      log: (level, message) => {
        if (level === 'warn') warnings.push(message);
      },
    });
    try {
      assert.deepEqual(withEmbeddings.info.embeddings, []);
      assert.deepEqual(warnings, ['embeddings left out: this text encoder takes none (a checkpoint converted by dreamcord does)']);
      assert.deepEqual((await withEmbeddings.generate({ ...BASE, steps: 1, prompt: 'tinytok' })).embeddings, []);
    } finally {
      await withEmbeddings.dispose();
    }
  });

    it("refuses clip skip on an export whose text encoder has no clip_skip outputs, naming the model's limit", async () => {
    await assert.rejects(pipeline.generate({ ...BASE, clipSkip: 2 }), (error: unknown) => {
      assert.ok(isPipelineError(error, 'INVALID_REQUEST'));
      assert.equal(error.details.field, 'clipSkip');
      assert.match(error.message, /at most 1 .*got 2/);
      return true;
    });
  });

    it('returns float and 8-bit images, the seeds, the timing and the resolved request', () => {
    const [image] = reference.images;
    assert.ok(image);
    assert.equal(image.image.width, 64);
    assert.equal(image.rgb8.data.length, 64 * 64 * 3);
    assert.equal(image.rgb8.data[0], Math.round((image.image.data[0] ?? 0) * 255));
    assert.equal(image.seed, 42n);
    assert.equal(reference.request.sampler, 'pndm');
    assert.equal(reference.request.seedMode, 'batch');
    // PNDM's PRK-less schedule evaluates one extra timestep.
    assert.equal(reference.timing.steps, 11);
    assert.ok(reference.timing.stepModelMs > 0 && reference.timing.stepOtherMs >= 0);
    assert.deepEqual(reference.warnings, []);
  });

  it('reports progress after every step, with a latent preview when asked', async () => {
    const seen: { step: number; total: number; preview: readonly Rgb8Image[] | undefined }[] = [];
    await pipeline.generate(
      { ...BASE, preview: true },
      { onProgress: (step, total, _ms, preview) => seen.push({ step, total, preview }) },
    );
    assert.deepEqual(
      seen.map(({ step, total }) => `${step}/${total}`),
      Array.from({ length: 11 }, (_, i) => `${i + 1}/11`),
    );
    const preview = seen[0]?.preview?.[0];
    assert.equal(preview?.width, 8);
    assert.equal(preview?.data.length, 8 * 8 * 3);
  });

  it('cancels between steps with CANCELLED and stays usable for the next request', async () => {
    const controller = new AbortController();
    const steps: number[] = [];
    await assert.rejects(
      pipeline.generate(BASE, {
        signal: controller.signal,
        onProgress: (step) => {
          steps.push(step);
          if (step === 2) controller.abort();
        },
      }),
      (error) => isPipelineError(error, 'CANCELLED'),
    );
    assert.deepEqual(steps, [1, 2]);
    const again = await pipeline.generate(BASE);
    assert.equal(maxAbsDifference(pixels(again), pixels(reference)), 0);
  });

  it('skips the unconditional half when cfg ≤ 1 (the negative prompt then has no effect)', async () => {
    const one = await pipeline.generate({ ...BASE, cfg: 1 });
    const lower = await pipeline.generate({ ...BASE, cfg: 0.5, negativePrompt: 'blurry' });
    assert.equal(maxAbsDifference(pixels(one), pixels(lower)), 0);
    assert.ok(maxAbsDifference(pixels(one), pixels(reference)) > 1e-3);
  });

  it('encodes a long a1111 prompt in 77-token chunks concatenated to 154 tokens, and generates', async () => {
    const prompt = Array.from({ length: 40 }, (_, i) => `(word${i}:1.2)`).join(' ');
    const sessions = new SessionFactory({ provider: 'cpu' });
    const model = await loadStableDiffusionModel(TINY_SD, sessions);
    const request = resolveRequest({ ...BASE, prompt, promptSyntax: 'a1111', count: 2 });
    const conditioning = await encodePrompt(model, request, new TimingRecorder());
    assert.equal(conditioning.tokens, 154);
    assert.equal(conditioning.batch, 4);
    assert.equal(conditioning.hidden.length, 4 * 154 * model.hiddenSize);
    await sessions.releaseAll();

    const result = await pipeline.generate({ ...BASE, prompt, promptSyntax: 'a1111' });
    assert.ok(pixels(result).every(Number.isFinite));
  });

  it('gives per-image seeds seed+i in per-image mode: each image can be re-made alone', async () => {
    const a1111: GenerateRequest = { ...BASE, rng: 'gpu', seedMode: 'per-image', sampler: 'euler_a' };
    const batch = await pipeline.generate({ ...a1111, seed: 100, count: 2 });
    assert.deepEqual(
      batch.images.map((image) => image.seed),
      [100n, 101n],
    );
    const second = await pipeline.generate({ ...a1111, seed: 101 });
    assert.ok(maxAbsDifference(pixels(batch, 1), pixels(second)) < 1e-4);
  });

  it('defaults to per-image seeds with the gpu rng and a random seed, reported back', async () => {
    const result = await pipeline.generate({ prompt: 'x', width: 64, height: 64, steps: 2, count: 2 });
    assert.equal(result.request.rng, 'gpu');
    assert.equal(result.request.seedMode, 'per-image');
    assert.equal(result.images[1]?.seed, result.request.seed + 1n);
  });

  it('resizes a mask of another size to the image', async () => {
    const init: RgbImage = { width: 64, height: 64, channels: 3, data: new Float32Array(64 * 64 * 3).fill(0.5) };
    const leftHalf = new Float32Array(16 * 32).map((_, i) => (i % 16 < 8 ? 1 : 0));
    const small: Mask = { width: 16, height: 32, channels: 1, data: leftHalf };
    const result = await pipeline.generate({ ...BASE, initImage: init, mask: small, sampler: 'euler', strength: 0.8 });
    assert.equal(result.request.mask?.width, 64);
    assert.equal(result.request.mask?.data[0], 1);
    assert.equal(result.request.mask?.data[63], 0);
    assert.ok(pixels(result).every(Number.isFinite));
  });

  it('rejects invalid requests before any work, naming the field', async () => {
    await assert.rejects(
      pipeline.generate({ ...BASE, width: 100 }),
      (error) =>
        isPipelineError(error, 'INVALID_REQUEST') && error.details.field === 'width' && /multiple of 8/.test(error.message),
    );
    await assert.rejects(
      pipeline.generate({ ...BASE, sampler: 'Euler z' }),
      (error) => isPipelineError(error, 'INVALID_REQUEST') && error.details.field === 'sampler',
    );
  });
});

describe('other model folders', () => {
  it('runs an fp16 model (fp16 UNet and VAE, int64 timestep) close to the fp32 one', async () => {
    const fp32 = await StableDiffusionPipeline.load(TINY_SD, { provider: 'cpu' });
    const fp16 = await StableDiffusionPipeline.load('test/fixtures/tiny-sd-fp16', { provider: 'cpu' });
    const [a, b] = [await fp32.generate(BASE), await fp16.generate(BASE)];
    assert.ok(pixels(b).every(Number.isFinite));
    const difference = maxAbsDifference(pixels(a), pixels(b));
    assert.ok(difference < 0.02, `fp16 vs fp32: ${difference}`);
    await Promise.all([fp32.dispose(), fp16.dispose()]);
  });

  it('loads weights kept in an external data file next to the model, and names that file when it is missing', async () => {
    const dir = copyModel('tiny-sd');
    const unet = join(dir, 'unet', 'model.onnx');
    rmSync(unet);
    // Re-save the UNet the way large exports are stored: the graph in model.onnx, the weights in model.onnx_data.
    const external = { optimized_model_external_initializers_file_name: 'model.onnx_data' };
    const save = await InferenceSession.create(join(TINY_SD, 'unet', 'model.onnx'), {
      graphOptimizationLevel: 'disabled',
      optimizedModelFilePath: unet,
      extra: { session: { ...external, optimized_model_external_initializers_min_size_in_bytes: '64' } },
    });
    await save.release();
    assert.ok(statSync(unet).size < statSync(join(dir, 'unet', 'model.onnx_data')).size);

    const pipeline = await StableDiffusionPipeline.load(dir, { provider: 'cpu' });
    const fromExternal = await pipeline.generate(BASE);
    const reference = await StableDiffusionPipeline.load(TINY_SD, { provider: 'cpu' });
    assert.ok(maxAbsDifference(pixels(fromExternal), pixels(await reference.generate(BASE))) < 1e-5);
    await Promise.all([pipeline.dispose(), reference.dispose()]);

    const data = join(dir, 'unet', 'model.onnx_data');
    rmSync(data);
    await assert.rejects(
      StableDiffusionPipeline.load(dir, { provider: 'cpu' }),
      (error) => isPipelineError(error, 'MODEL_MISSING_FILE') && error.details.file === data,
    );
  });

  it('draws a v-prediction model with A1111\'s CompVisVDenoiser in A1111 mode (a1111/sdxl.test.ts checks its numbers)', async () => {
    const dir = copyModel('tiny-sd');
    const config = join(dir, 'scheduler', 'scheduler_config.json');
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), prediction_type: 'v_prediction' }));
    const [vModel, epsilonModel] = await Promise.all([
      StableDiffusionPipeline.load(dir, { provider: 'cpu' }),
      StableDiffusionPipeline.load(TINY_SD, { provider: 'cpu' }),
    ]);
    const request: GenerateRequest = { ...BASE, steps: 4, sampler: 'euler', rng: 'gpu', compat: 'a1111' };
    const inA1111Mode = await vModel.generate({ ...request, seed: 5, count: 2 });
    const alone = await vModel.generate({ ...request, seed: 6 });
    const asNoisePrediction = pixels(await epsilonModel.generate({ ...request, seed: 5 }));
    // A1111's per-picture seeds (its sampling, not diffusers'), and the weights read as v, not as noise prediction.
    assert.deepEqual(inA1111Mode.images[1]?.image.data, alone.images[0]?.image.data);
    assert.ok(maxAbsDifference(pixels(inA1111Mode), asNoisePrediction) > 0.01);
    await Promise.all([vModel.dispose(), epsilonModel.dispose()]);
  });

  it('inpaints with a 9-channel model at any strength, for a batch, and refuses txt2img', async () => {
    const inpainting = await StableDiffusionPipeline.load('test/fixtures/tiny-sd-inpaint', { provider: 'cpu' });
    assert.equal(inpainting.info.inpainting, true);
    const initImage: RgbImage = { width: 64, height: 64, channels: 3, data: new Float32Array(64 * 64 * 3).fill(0.25) };
    const mask: Mask = { width: 64, height: 64, channels: 1, data: new Float32Array(64 * 64).fill(1, 0, 2048) };
    for (const strength of [1, 0.5]) {
      const result = await inpainting.generate({ ...BASE, initImage, mask, strength, count: 2, seedMode: 'per-image' });
      assert.equal(result.images.length, 2);
      assert.ok(result.images.every(({ image }) => image.data.every(Number.isFinite)));
    }
    await assert.rejects(
      inpainting.generate(BASE),
      (error) => isPipelineError(error, 'INVALID_REQUEST') && /inpainting model/.test(error.message),
    );
    await inpainting.dispose();
  });

  it('names a missing file', async () => {
    const dir = copyModel('tiny-sd');
    const unet = join(dir, 'unet', 'model.onnx');
    rmSync(unet);
    await assert.rejects(
      StableDiffusionPipeline.load(dir, { provider: 'cpu' }),
      (error) =>
        isPipelineError(error, 'MODEL_MISSING_FILE') && error.details.file === unet && error.message.includes(unet),
    );
  });

  it('names a corrupt ONNX file', async () => {
    const dir = copyModel('tiny-sd');
    const vae = join(dir, 'vae_decoder', 'model.onnx');
    replaceFile(vae, 'garbage, not protobuf');
    await assert.rejects(
      StableDiffusionPipeline.load(dir, { provider: 'cpu' }),
      (error) => isPipelineError(error, 'MODEL_CORRUPT') && error.details.file === vae,
    );
  });

  it('names a component that does not belong (a VAE decoder as the text encoder)', async () => {
    const dir = copyModel('tiny-sd');
    const textEncoder = join(dir, 'text_encoder', 'model.onnx');
    rmSync(textEncoder);
    copyFileSync(join(TINY_SD, 'vae_decoder', 'model.onnx'), textEncoder);
    await assert.rejects(
      StableDiffusionPipeline.load(dir, { provider: 'cpu' }),
      (error) => isPipelineError(error, 'MODEL_UNSUPPORTED') && error.message.includes(textEncoder),
    );
  });

  it('refuses the SDXL refiner (a second text encoder without the first) with a clear message', async () => {
    const dir = copyModel('tiny-sd');
    const index = join(dir, 'model_index.json');
    replaceFile(index, JSON.stringify({ _class_name: 'ORTStableDiffusionXLImg2ImgPipeline', unet: [], text_encoder_2: [] }));
    rmSync(join(dir, 'text_encoder'), { recursive: true });
    await assert.rejects(
      StableDiffusionPipeline.load(dir, { provider: 'cpu' }),
      (error) => isPipelineError(error, 'MODEL_UNSUPPORTED') && /SDXL refiner/.test(error.message),
    );
  });

  it('an SDXL folder without its second text encoder names the missing file', async () => {
    const dir = copyModel('tiny-sd');
    const index = join(dir, 'model_index.json');
    replaceFile(index, JSON.stringify({ _class_name: 'ORTStableDiffusionXLPipeline', unet: [], text_encoder_2: [] }));
    await assert.rejects(
      StableDiffusionPipeline.load(dir, { provider: 'cpu' }),
      (error) => isPipelineError(error, 'MODEL_MISSING_FILE') && /text_encoder_2/.test(error.message),
    );
  });

  it('reports unreadable JSON as corrupt', async () => {
    const dir = copyModel('tiny-sd');
    const config = join(dir, 'scheduler', 'scheduler_config.json');
    replaceFile(config, '{ not json');
    await assert.rejects(
      StableDiffusionPipeline.load(dir, { provider: 'cpu' }),
      (error) => isPipelineError(error, 'MODEL_CORRUPT') && error.details.file === config,
    );
  });
});
