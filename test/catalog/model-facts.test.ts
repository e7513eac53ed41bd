// Issue 16: a catalog model is described from its headers before it is ever converted or loaded, and the description
// is what the pipeline reports once the model is converted and loaded.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeModel } from '../../src/catalog/index.js';
import { convertCheckpoint } from '../../src/convert/convert.js';
import { MODEL_FAMILIES, StableDiffusionPipeline } from '../../src/pipeline/index.js';
import { TINY_LORA, TINY_SD, TINY_SD_INPAINT, TINY_SDXL, TINY_SDXL_FOLDER, tensorsOf } from '../support/checkpoint-files.js';
import { writeSafetensors } from '../support/safetensors-writer.js';
import { tempDir } from '../support/temp-dir.js';

/** What the loaded pipeline says of a model, in the description's terms. */
async function loadedFacts(dir: string) {
  const pipeline = await StableDiffusionPipeline.load(dir, { provider: 'cpu' });
  try {
    const { family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig, inpainting } = pipeline.info;
    return { family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig, inpainting };
  } finally {
    await pipeline.dispose();
  }
}

describe('describeModel', () => {
  const dir = tempDir();

  it('describes SD 1.5 and SDXL checkpoints (single file and diffusers folder) as their conversions load', { timeout: 120_000 }, async () => {
    const cases = [
      { path: TINY_SD, form: 'safetensors' as const, family: 'sd1', nativeSize: 512 },
      { path: TINY_SDXL, form: 'safetensors' as const, family: 'sdxl', nativeSize: 1024 },
      { path: TINY_SDXL_FOLDER, form: 'diffusers' as const, family: 'sdxl', nativeSize: 1024 },
    ];
    for (const [i, c] of cases.entries()) {
      const described = describeModel(c);
      assert.equal(described.family, c.family);
      assert.equal(described.nativeSize, c.nativeSize);
      const out = join(dir, `model-${i}`);
      await convertCheckpoint(c.path, out, { dtype: 'fp32' });
      assert.deepEqual(described, await loadedFacts(out), c.path);
    }
    assert.deepEqual(describeModel({ path: TINY_SDXL, form: 'safetensors' }).sizeBuckets, MODEL_FAMILIES.sdxl.sizeBuckets);
  });

  it('describes an ONNX export from its files (clip skip 1: no earlier layers as outputs)', async () => {
    const described = describeModel({ path: 'test/fixtures/tiny-sd', form: 'onnx' });
    assert.deepEqual(described, await loadedFacts('test/fixtures/tiny-sd'));
  });

  it("reads a file's sampling marker keys as A1111 does: v_pred on SDXL is v-prediction (not on SD 1.x), ztsnr on any is zero terminal SNR", () => {
    /** `source` with empty marker tensors added, as trainers write them (`torch.tensor([])`). */
    const marked = (source: string, markers: readonly string[]): string => {
      const path = join(dir, `${markers.join('-')}-${source.endsWith('tiny-sdxl.safetensors') ? 'sdxl' : 'sd'}.safetensors`);
      writeSafetensors(path, [...tensorsOf(source), ...markers.map((name) => ({ name, dtype: 'F32', shape: [0], data: new Uint8Array(0) }))]);
      return path;
    };
    const sampling = (path: string) => {
      const { schedulerConfig } = describeModel({ path, form: 'safetensors' });
      return [schedulerConfig['prediction_type'], schedulerConfig['rescale_betas_zero_snr'] ?? false];
    };
    assert.deepEqual(sampling(TINY_SDXL), ['epsilon', false]);
    assert.deepEqual(sampling(marked(TINY_SDXL, ['v_pred'])), ['v_prediction', false]);
    assert.deepEqual(sampling(marked(TINY_SDXL, ['v_pred', 'ztsnr'])), ['v_prediction', true]);
    // sd_models_config.py reads `v_pred` for SDXL only; `load_model_weights` reads `ztsnr` for every model.
    assert.deepEqual(sampling(marked(TINY_SD, ['v_pred', 'ztsnr'])), ['epsilon', true]);
    // A sidecar still wins over the file.
    const sidecar = { prediction: 'epsilon', zeroTerminalSnr: false } as const;
    const described = describeModel({ path: marked(TINY_SDXL, ['v_pred', 'ztsnr']), form: 'safetensors', sidecar });
    assert.deepEqual([described.schedulerConfig['prediction_type'], described.schedulerConfig['rescale_betas_zero_snr']], ['epsilon', false]);
  });

  it('marks an inpainting checkpoint, and refuses a file that is no checkpoint as a conversion would', () => {
    assert.equal(describeModel({ path: TINY_SD_INPAINT, form: 'safetensors' }).inpainting, true);
    assert.throws(() => describeModel({ path: TINY_LORA, form: 'safetensors' }), /looks like a LoRA, not a checkpoint/);
  });
});
