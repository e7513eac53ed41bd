// The GPU bench's SDXL checkpoint (bench/convert.ts, test/support/sdxl-layout.ts): its full size has SDXL base's
// published parameter counts, the converter accepts it (at the reduced widths, converted and drawn on the CPU), and
// the CUDA form's fused layers take SDXL's shapes (depth-2 and depth-10 transformers, 10 and 20 heads, 640/1280
// widths; built from a header-only file, never written).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeRandomCheckpoint } from '../../bench/convert.js';
import { openCheckpoint } from '../../src/checkpoint/index.js';
import { convertCheckpoint } from '../../src/convert/convert.js';
import { unetGraph } from '../../src/convert/graphs/unet.js';
import { StableDiffusionPipeline } from '../../src/pipeline/index.js';
import { writeHeaderOnly } from '../support/checkpoint-files.js';
import { elementCount } from '../support/sd15-layout.js';
import { SDXL_REDUCED, sdxlLayout } from '../support/sdxl-layout.js';
import { tempDir } from '../support/temp-dir.js';

/** Parameters under `prefix` in a layout. */
function parameters(layout: ReturnType<typeof sdxlLayout>, prefix: string): number {
  return layout.filter(({ name }) => name.startsWith(prefix)).reduce((sum, { shape }) => sum + elementCount(shape), 0);
}

describe('the SDXL bench checkpoint', () => {
  it('has SDXL base’s published sizes at full width', () => {
    const layout = sdxlLayout();
    // diffusers' UNet2DConditionModel, CLIPTextModel and CLIPTextModelWithProjection of stabilityai/stable-diffusion-xl-base-1.0.
    assert.equal(parameters(layout, 'model.diffusion_model.'), 2_567_463_684);
    assert.equal(parameters(layout, 'conditioner.embedders.0.'), 123_060_480);
    assert.equal(parameters(layout, 'conditioner.embedders.1.'), 694_659_840);
    assert.equal(parameters(layout, 'first_stage_model.'), 83_653_863);
  });

  it('is read as SDXL and converted; the converted model draws a picture', async () => {
    const dir = tempDir();
    const checkpoint = join(dir, 'sdxl-reduced.safetensors');
    writeRandomCheckpoint(checkpoint, sdxlLayout(SDXL_REDUCED));
    assert.equal(openCheckpoint(checkpoint).family.id, 'sdxl');
    const out = join(dir, 'onnx');
    await convertCheckpoint(checkpoint, out, { dtype: 'fp32' });
    const pipeline = await StableDiffusionPipeline.load(out, { provider: 'cpu' });
    try {
      const { images } = await pipeline.generate({ prompt: 'a lighthouse', seed: 1, width: 64, height: 64, steps: 2, cfg: 7, sampler: 'dpmpp_2m_karras' });
      const rgb = images[0]?.rgb8;
      assert.ok(rgb);
      assert.equal(rgb.width * rgb.height, 64 * 64);
    } finally {
      await pipeline.dispose();
    }
  });

  it('builds the CUDA form of the full-size UNet with a fused node per attention, norm and GEGLU', () => {
    const path = join(tempDir(), 'sdxl-header.safetensors');
    writeHeaderOnly(path, sdxlLayout());
    const g = unetGraph(openCheckpoint(path).components.unet, { dtype: 'fp16', target: 'cuda' });
    const count = (op: string): number => g.nodes.filter((node) => node.opType === op).length;
    // 70 transformer blocks (2·2 + 2·10 down, 10 middle, 3·10 + 3·2 up): two attentions and one GEGLU each.
    assert.equal(count('MultiHeadAttention'), 140);
    assert.equal(count('BiasSplitGelu'), 70);
    assert.equal(count('Conv'), 0);
    // 64-wide heads: 10 at 640 (5 transformers of depth 2), 20 at 1280 (6 of depth 10).
    const heads = g.nodes.filter((node) => node.opType === 'MultiHeadAttention').map((node) => node.attributes['num_heads']);
    assert.equal(heads.filter((n) => n === 10).length, 20);
    assert.equal(heads.filter((n) => n === 20).length, 120);
  });
});
