// Issue 16: SDXL's VAE overflows in fp16. An fp16 SDXL conversion keeps an fp32 decoder (vae_decoder_fp32/); a
// picture the fp16 decoder returns with NaN or infinities is decoded again in fp32, with a log line.
// ONNX Runtime's CPU provider computes fp16 graphs in float32 between casts, so a huge latent does not overflow here;
// the overflow is forced instead by one VAE weight beyond fp16's range (1e5 > 65504: infinity once stored in fp16),
// which the fp32 decoder holds as it is, as SDXL's activations are beyond fp16's range and within float32's.
import assert from 'node:assert/strict';
import { existsSync, rmSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SafetensorsFile } from '../../src/checkpoint/index.js';
import { convertCheckpoint } from '../../src/convert/convert.js';
import { StableDiffusionPipeline, type GenerateRequest } from '../../src/pipeline/index.js';
import { loadStableDiffusionModel, type StableDiffusionModel } from '../../src/pipeline/models/stable-diffusion-model.js';
import { VaeDecoder } from '../../src/pipeline/models/vae-decoder.js';
import { SessionFactory } from '../../src/pipeline/runtime/session-factory.js';
import { TINY_SD, TINY_SDXL, tensorsOf } from '../support/checkpoint-files.js';
import { writeSafetensors } from '../support/safetensors-writer.js';
import { processTempDir } from '../support/temp-dir.js';
import { maxAbsDifference } from './harness.js';

const dir = processTempDir();
const OVERFLOWING = 'first_stage_model.decoder.conv_in.bias';
const LATENTS = Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => Math.sin(i * 1.7));

const nonFinite = (values: Float32Array) => values.filter((v) => !Number.isFinite(v)).length;

describe('the fp16 SDXL VAE decoder falls back to fp32 where it overflows', () => {
  const sessions = new SessionFactory({ provider: 'cpu' });
  const warnings: string[] = [];
  let half: StableDiffusionModel;
  let full: StableDiffusionModel;
  before(async () => {
    const checkpoint = join(dir, 'tiny-sdxl-hot-vae.safetensors');
    const bias = SafetensorsFile.open(TINY_SDXL).read(OVERFLOWING);
    bias[0] = 1e5;
    writeSafetensors(checkpoint, tensorsOf(TINY_SDXL).map((t) => (t.name === OVERFLOWING ? { ...t, data: new Uint8Array(bias.buffer) } : t)));
    await convertCheckpoint(checkpoint, join(dir, 'fp16'), { dtype: 'fp16' });
    await convertCheckpoint(checkpoint, join(dir, 'fp32'), { dtype: 'fp32' });
    half = await loadStableDiffusionModel(join(dir, 'fp16'), sessions, { log: (level, message) => (level === 'warn' ? warnings.push(message) : undefined) });
    full = await loadStableDiffusionModel(join(dir, 'fp32'), sessions);
  });
  after(() => sessions.releaseAll());

  it('writes vae_decoder_fp32 for an fp16 SDXL conversion only (not fp32, not SD 1.x)', async () => {
    assert.ok(existsSync(join(dir, 'fp16', 'vae_decoder_fp32', 'model.onnx')));
    assert.ok(!existsSync(join(dir, 'fp32', 'vae_decoder_fp32')));
    await convertCheckpoint(TINY_SD, join(dir, 'sd-fp16'), { dtype: 'fp16' });
    assert.ok(!existsSync(join(dir, 'sd-fp16', 'vae_decoder_fp32')));
  });

  it('the fp16 decoder overflows; the checked one logs it and returns the fp32 decode', async (t) => {
    const unchecked = await new VaeDecoder(half.vaeDecoder.session).decode(LATENTS, 8, 8);
    assert.ok(nonFinite(unchecked) > 0, 'the fp16 decoder did not overflow');
    const oracle = await full.vaeDecoder.decode(LATENTS, 8, 8);
    assert.equal(nonFinite(oracle), 0);
    const checked = await half.vaeDecoder.decode(LATENTS, 8, 8);
    t.diagnostic(`fp16: ${nonFinite(unchecked)} of ${unchecked.length} values not finite; fallback against the fp32 conversion: max |Δ| ${maxAbsDifference(checked, oracle)}`);
    assert.deepEqual(checked, oracle);
    assert.deepEqual(warnings, ['the fp16 VAE decoder overflowed (NaN or infinity in the picture); decoding it again in fp32']);
  });

  it('a generation on the fp16 conversion gives a picture (black without the fp32 decoder)', async () => {
    const request: GenerateRequest = { prompt: 'a lighthouse', seed: 3, steps: 2, width: 64, height: 64, sampler: 'euler', rng: 'cpu' };
    const draw = async (folder: string) => {
      const pipeline = await StableDiffusionPipeline.load(folder, { provider: 'cpu' });
      try {
        return (await pipeline.generate(request)).images[0]?.image.data ?? new Float32Array();
      } finally {
        await pipeline.dispose();
      }
    };
    const withoutFallback = join(dir, 'fp16-without');
    cpSync(join(dir, 'fp16'), withoutFallback, { recursive: true });
    rmSync(join(withoutFallback, 'vae_decoder_fp32'), { recursive: true });
    assert.ok(nonFinite(await draw(withoutFallback)) > 0);
    const picture = await draw(join(dir, 'fp16'));
    assert.equal(nonFinite(picture), 0);
    // The UNet and text encoders in fp16 against fp32: the bound of the fp16 SDXL oracle test (test/convert/sdxl.test.ts).
    assert.ok(maxAbsDifference(picture, await draw(join(dir, 'fp32'))) < 0.02);
  });
});
