// SDXL in A1111 mode against test/fixtures/a1111-sdxl/sdxl.json (make_sdxl.py: A1111 v1.10.1's SDXL conditioning,
// CFGDenoiser, CompVisDenoiser / CompVisVDenoiser, CompVisTimestepsVDenoiser and samplers transcribed in numpy over stand-ins of the tiny SDXL's
// networks): each text's chunks and multipliers for both embedders, its crossattn and pooled vector, the sigmas,
// and the final latents of whole generations on the tiny SDXL model; then that img2img and the hires fix take the
// same path.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { convertCheckpoint } from '../../../src/convert/convert.js';
import { compVisScheduleOf, sampleA1111, walkedSigmas } from '../../../src/pipeline/a1111/sample.js';
import { encodeA1111Prompt } from '../../../src/pipeline/a1111/conditioning.js';
import { a1111SamplerFor } from '../../../src/pipeline/a1111/samplers.js';
import {
  parseSamplerName,
  resolveRequest,
  StableDiffusionPipeline,
  type Emphasis,
  type GenerateRequest,
  type Mask,
  type RgbImage,
} from '../../../src/pipeline/index.js';
import { loadStableDiffusionModel, type StableDiffusionModel } from '../../../src/pipeline/models/stable-diffusion-model.js';
import { SessionFactory } from '../../../src/pipeline/runtime/session-factory.js';
import { TimingRecorder } from '../../../src/pipeline/timing.js';
import { EmbeddingVocabulary, tokenizePrompt, type ClipTokenizer, type PromptTokens } from '../../../src/pipeline/tokenizer/index.js';
import { TINY_SDXL, tensorsOf } from '../../support/checkpoint-files.js';
import { writeSafetensors } from '../../support/safetensors-writer.js';
import { processTempDir } from '../../support/temp-dir.js';
import { secondPictureAlone } from './sampler-checks.js';

interface Side {
  readonly chunks: readonly { readonly tokens: readonly number[]; readonly multipliers: readonly number[] }[];
  readonly crossattn: readonly number[];
  readonly pooled: readonly number[];
  readonly time_ids: readonly number[];
}

interface SdxlCase {
  readonly id: string;
  readonly sampler: string;
  readonly seed: number;
  readonly count: number;
  readonly steps: number;
  readonly cfg: number;
  readonly w: number;
  readonly h: number;
  readonly prompt: string;
  readonly negative: string;
  readonly emphasis: Emphasis;
  readonly prediction: string;
  readonly zero_terminal_snr: boolean;
  readonly sigmas: readonly number[];
  readonly cond: Side;
  readonly uncond: Side;
  readonly latents: readonly number[];
}

const { cases } = JSON.parse(readFileSync('test/fixtures/a1111-sdxl/sdxl.json', 'utf8')) as { cases: SdxlCase[] };

/** The largest |a − b| relative to max(1, |b|). */
function worstRelative(actual: ArrayLike<number>, expected: readonly number[]): number {
  assert.equal(actual.length, expected.length);
  return expected.reduce((worst, e, i) => Math.max(worst, Math.abs((actual[i] ?? NaN) - e) / Math.max(1, Math.abs(e))), 0);
}

/** One embedder's chunks of `text` (no embeddings: the tiny SDXL has none). */
function tokensOf(tokenizer: ClipTokenizer, text: string, emphasis: Emphasis): PromptTokens {
  return tokenizePrompt(tokenizer, text, 'a1111', EmbeddingVocabulary.none(tokenizer), emphasis).tokens;
}

/** The model as A1111 reads a case's prediction type and noise schedule (the sidecar's `prediction`, `zeroTerminalSnr`). */
function readAs(model: StableDiffusionModel, c: SdxlCase): StableDiffusionModel {
  const schedulerConfig = { ...model.folder.schedulerConfig, prediction_type: c.prediction, rescale_betas_zero_snr: c.zero_terminal_snr };
  return { ...model, predictionType: c.prediction, folder: { ...model.folder, schedulerConfig } };
}

describe('SDXL in A1111 mode: the numpy transcription of A1111 (make_sdxl.py)', () => {
  const sessions = new SessionFactory({ provider: 'cpu' });
  const dir = join(processTempDir(), 'tiny-sdxl');
  let model: StableDiffusionModel;
  before(async () => {
    await convertCheckpoint(TINY_SDXL, dir, { dtype: 'fp32' });
    model = await loadStableDiffusionModel(dir, sessions);
  });
  after(async () => {
    await sessions.releaseAll();
  });

  for (const c of cases.filter((x) => x.prediction === 'epsilon')) {
    it(`${c.id}: both embedders' chunks and multipliers, crossattn and pooled`, async (t) => {
      const secondTokenizer: ClipTokenizer | undefined = model.second?.tokenizer;
      assert.ok(secondTokenizer);
      const reading = { promptSyntax: 'a1111', clipSkip: 1, emphasis: c.emphasis } as const;
      for (const [text, side] of [[c.prompt, c.cond], [c.negative, c.uncond]] as const) {
        const clipL = tokensOf(model.tokenizer, text, c.emphasis);
        const openClip = tokensOf(secondTokenizer, text, c.emphasis);
        assert.deepEqual(clipL.chunks.map((chunk) => Array.from(chunk)), side.chunks.map((chunk) => chunk.tokens));
        // OpenCLIP's `process_tokens`: 0 after the first end-of-text.
        const padded = side.chunks.map((chunk) => chunk.tokens.map((id, i) => (i > chunk.tokens.indexOf(49407) ? 0 : id)));
        assert.deepEqual(openClip.chunks.map((chunk) => Array.from(chunk)), padded);
        clipL.weights.forEach((weights, i) => assert.ok(worstRelative(weights, side.chunks[i]?.multipliers ?? []) < 1e-6));
        if (text === '' && side === c.uncond) continue; // zeros, checked through the latents
        const { conditioning } = await encodeA1111Prompt(model, text, reading, new TimingRecorder());
        const crossattn = worstRelative(conditioning.hidden, side.crossattn);
        const pooled = worstRelative(conditioning.pooled ?? [], side.pooled);
        assert.ok(crossattn < 1e-5 && pooled < 1e-5, `crossattn ${crossattn}, pooled ${pooled}`);
        t.diagnostic(`${text === c.prompt ? 'prompt' : 'negative'}: crossattn ${crossattn.toExponential(1)}, pooled ${pooled.toExponential(1)}`);
      }
      assert.deepEqual(c.cond.time_ids, [c.h, c.w, 0, 0, c.h, c.w]);
    });
  }

  for (const c of cases) {
    it(`${c.id}: sigmas and final latents (${c.sampler}, ${c.prediction}${c.zero_terminal_snr ? ', zero terminal SNR' : ''})`, async (t) => {
      await assertSampledAsCase(readAs(model, c), c, t);
    });
  }
});

/** Samples case `c` on `read` (the model as it reads the case) and checks its sigmas and latents against the transcription's. */
async function assertSampledAsCase(read: StableDiffusionModel, c: SdxlCase, t: TestContext): Promise<void> {
  const request = resolveRequest({
    prompt: c.prompt,
    negativePrompt: c.negative,
    seed: c.seed,
    steps: c.steps,
    cfg: c.cfg,
    width: c.w,
    height: c.h,
    count: c.count,
    sampler: parseSamplerName(c.sampler),
    compat: 'a1111',
    emphasis: c.emphasis,
    rng: 'gpu',
  });
  const sampler = a1111SamplerFor(request.sampler);
  assert.ok(sampler);
  // DDIM walks timesteps (timestep-samplers.test.ts checks them), the k-diffusion samplers sigmas.
  const sigmas = sampler.family === 'k-diffusion' ? walkedSigmas(sampler, request, compVisScheduleOf(read.folder.schedulerConfig)) : [];
  const sigmaError = worstRelative(sigmas, c.sigmas);
  assert.ok(sigmaError < 1e-6, `sigmas: ${sigmaError}`);
  const { latents } = await sampleA1111(read, request, sampler, {}, new TimingRecorder());
  const worst = worstRelative(latents, c.latents);
  assert.ok(worst < 1e-4, `latents: worst relative |Δ| ${worst}`);
  t.diagnostic(`sigmas ${sigmaError.toExponential(1)}, latents ${worst.toExponential(1)} (relative to max(1, |x|))`);
}

// A1111 reads an SDXL file's empty `v_pred` tensor as v-prediction and a `ztsnr` one as zero terminal SNR (PRs
// #16567 and #16569): converted from such a file, with no sidecar, the model samples as the transcription's v cases.
describe('SDXL single files marked v_pred (and ztsnr) sample as A1111 reads them, with no sidecar', () => {
  const sessions = new SessionFactory({ provider: 'cpu' });
  const dir = processTempDir();
  const models = new Map<boolean, StableDiffusionModel>();
  before(async () => {
    for (const zeroTerminalSnr of [false, true]) {
      const marked = join(dir, `tiny-sdxl-v${zeroTerminalSnr ? '-ztsnr' : ''}.safetensors`);
      const markers = zeroTerminalSnr ? ['v_pred', 'ztsnr'] : ['v_pred'];
      writeSafetensors(marked, [...tensorsOf(TINY_SDXL), ...markers.map((name) => ({ name, dtype: 'F32', shape: [0], data: new Uint8Array(0) }))]);
      const out = join(dir, `onnx-${String(zeroTerminalSnr)}`);
      await convertCheckpoint(marked, out, { dtype: 'fp32' });
      models.set(zeroTerminalSnr, await loadStableDiffusionModel(out, sessions));
    }
  });
  after(async () => {
    await sessions.releaseAll();
  });

  for (const c of cases.filter((x) => x.prediction === 'v_prediction')) {
    it(`${c.id}: the conversion records ${c.zero_terminal_snr ? 'v_prediction and zero terminal SNR' : 'v_prediction'}; sigmas and final latents as the transcription's`, async (t) => {
      const model = models.get(c.zero_terminal_snr);
      assert.ok(model);
      assert.equal(model.predictionType, 'v_prediction');
      assert.equal(model.folder.schedulerConfig['prediction_type'], 'v_prediction');
      assert.equal(model.folder.schedulerConfig['rescale_betas_zero_snr'] ?? false, c.zero_terminal_snr);
      await assertSampledAsCase(model, c, t);
    });
  }
});

describe("SDXL img2img and the hires fix in A1111 mode run A1111's sampling", () => {
  const dir = join(processTempDir(), 'tiny-sdxl-pipeline');
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    await convertCheckpoint(TINY_SDXL, dir, { dtype: 'fp32' });
    pipeline = await StableDiffusionPipeline.load(dir, { provider: 'cpu' });
  });
  after(() => pipeline.dispose());

  const BASE: GenerateRequest = { prompt: 'a lighthouse at dusk', negativePrompt: 'fog', seed: 7, steps: 8, width: 64, height: 64, compat: 'a1111', sampler: 'euler_a' };

  it("img2img walks A1111's t_enc + 1 steps (diffusers' rule walks ⌊steps · strength⌋)", async () => {
    const initImage: RgbImage = { width: 64, height: 64, channels: 3, data: new Float32Array(64 * 64 * 3).map((_, i) => (i % 97) / 97) };
    const calls = async (compat: 'a1111' | 'diffusers'): Promise<number> => {
      let last = 0;
      await pipeline.generate({ ...BASE, compat, initImage, strength: 0.6 }, { onProgress: (step) => (last = step) });
      return last;
    };
    assert.equal(await calls('a1111'), 5); // t_enc = ⌊0.6 · 8⌋ = 4
    assert.equal(await calls('diffusers'), 4);
  });

  it("inpainting is A1111's: t_enc + 1 steps, the upload exactly beyond the blurred mask", async () => {
    const initImage: RgbImage = { width: 64, height: 64, channels: 3, data: new Float32Array(64 * 64 * 3).map((_, i) => (i % 97) / 97) };
    const mask: Mask = { width: 64, height: 64, channels: 1, data: Float32Array.from({ length: 64 * 64 }, (_, p) => (p % 64 >= 24 && p >= 24 * 64 ? 1 : 0)) };
    let last = 0;
    const result = await pipeline.generate({ ...BASE, initImage, mask, strength: 0.6 }, { onProgress: (step) => (last = step) });
    assert.equal(last, 5);
    assert.equal(result.pastedBack, true);
    const picture = result.images[0]?.rgb8.data ?? new Uint8Array();
    // Mask blur 4 reaches 10 pixels: the rows above 14 and the columns left of 14 are the upload's.
    for (let p = 0; p < 64 * 64; p++) {
      if (p % 64 >= 14 && p >= 14 * 64) continue;
      for (let c = 0; c < 3; c++) assert.equal(picture[p * 3 + c], Math.round((initImage.data[p * 3 + c] ?? 0) * 255), `pixel ${p}`);
    }
  });

  it("the hires fix's second pass is A1111's: its hires steps walked, picture 2 of a batch its seed alone", async () => {
    const hires = { scale: 1.5, steps: 3, strength: 0.4, upscaler: 'latent' } as const;
    const { progress, difference } = await secondPictureAlone(pipeline, { ...BASE, steps: 4, hires });
    assert.deepEqual(progress.map(([done]) => done), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(difference, 0);
  });
});
