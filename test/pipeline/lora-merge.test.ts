// Issue 18: LoRA weights merged in ONNX Runtime, the last two merged sets kept per component.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { convertCheckpoint } from '../../src/convert/convert.js';
import { loraPatch, readLora } from '../../src/networks/index.js';
import { StableDiffusionPipeline, type NetworkPatch } from '../../src/pipeline/index.js';
import { loadStableDiffusionModel, type StableDiffusionModel } from '../../src/pipeline/models/stable-diffusion-model.js';
import { SessionFactory } from '../../src/pipeline/runtime/session-factory.js';
import { SafetensorsFile } from '../../src/checkpoint/index.js';
import { TINY_LORA, TINY_SD } from '../support/checkpoint-files.js';
import { writeSafetensors } from '../support/safetensors-writer.js';
import { processTempDir } from '../support/temp-dir.js';

describe('merged LoRA weights', () => {
  const sessions = new SessionFactory({ provider: 'cpu' });
  let model: StableDiffusionModel;
  let patches: NetworkPatch[];
  const dir = join(processTempDir(), 'tiny-sd');
  before(async () => {
    await convertCheckpoint(TINY_SD, dir, { dtype: 'fp32' });
    model = await loadStableDiffusionModel(dir, sessions);
    const lora = await readLora(TINY_LORA);
    assert.ok(model.patching);
    const weights = model.patching.weights;
    patches = [0.25, 0.5, 0.75].map((strength) => loraPatch(lora, { name: 'tiny-lora', te: strength, unet: strength }, weights));
  });
  after(async () => {
    for (const merged of Object.values(model.patching?.merged ?? {})) await merged.release();
    await sessions.releaseAll();
  });

  it('changes a weight for every module of tiny-lora: 18 in the text encoder (3 layers × 6), 48 in the UNet', () => {
    assert.equal(patches[0]?.deltas.text_encoder.length, 18);
    assert.equal(patches[0]?.deltas.unet.length, 48);
  });

  it('keeps the last two merged sets: a set used again is not merged again; a third evicts the oldest', async () => {
    const merged = model.patching?.merged.unet;
    assert.ok(merged);
    const [a, b, c] = patches.map((patch) => [patch]) as [NetworkPatch[], NetworkPatch[], NetworkPatch[]];
    const first = await merged.session(a);
    assert.equal(await merged.session(a), first);
    const second = await merged.session(b);
    assert.notEqual(second, first);
    assert.equal(await merged.session(a), first);
    await merged.session(c); // evicts b, the least recently used
    assert.equal(await merged.session(a), first);
    assert.notEqual(await merged.session(b), second);
  });

  it("a LoRA in the UNet's LDM naming (lora_unet_input_blocks_1_1_…) changes the same weights by the same amounts", async () => {
    // tiny-sd has one layer per level: LDM's input_blocks.1.1 is down_blocks.0.attentions.0, middle_block.1 the
    // middle attention, output_blocks.2.1 and 3.1 are up_blocks.1.attentions.0 and 1.
    const ldm: [string, string][] = [
      ['down_blocks_0_attentions_0', 'input_blocks_1_1'],
      ['mid_block_attentions_0', 'middle_block_1'],
      ['up_blocks_1_attentions_0', 'output_blocks_2_1'],
      ['up_blocks_1_attentions_1', 'output_blocks_3_1'],
    ];
    const source = SafetensorsFile.open(TINY_LORA);
    const renamed = join(processTempDir(), 'tiny-lora-ldm.safetensors');
    writeSafetensors(
      renamed,
      source.names().map((name) => {
        const info = source.info(name);
        const ldmName = ldm.reduce((key, [diffusers, old]) => key.replace(`lora_unet_${diffusers}_`, `lora_unet_${old}_`), name);
        return { name: ldmName, dtype: info.dtype, shape: info.shape, data: new Uint8Array(source.readBytes(name)) };
      }),
    );
    assert.ok(SafetensorsFile.open(renamed).names().some((name) => name.startsWith('lora_unet_output_blocks_3_1_')));
    assert.ok(model.patching);
    const patch = loraPatch(await readLora(renamed), { name: 'ldm', te: 0.25, unet: 0.25 }, model.patching.weights);
    assert.deepEqual(patch.deltas, patches[0]?.deltas);
  });

  it('weight_ops adds scale · (a·b) ⊙ (c·d) to the weight', async () => {
    const session = await InferenceSession.create(join(dir, 'weight_ops', 'model.onnx'));
    const t = (values: number[], dims: number[]) => new Tensor('float32', Float32Array.from(values), dims);
    const { merged } = await session.run({
      weight: t([1, 2, 3, 4], [2, 2]),
      a: t([1, 2], [2, 1]),
      b: t([3, 4], [1, 2]),
      c: t([1, 0, 0, 1], [2, 2]),
      d: t([1, 1, 2, 2], [2, 2]),
      scale: t([0.5], []),
    });
    // a·b = [[3, 4], [6, 8]]; c·d = [[1, 1], [2, 2]]; ⊙ = [[3, 4], [12, 16]]; × 0.5, plus the weight.
    assert.deepEqual(Array.from(merged?.data as Float32Array), [2.5, 4, 9, 12]);
    await session.release();
  });

  it('refuses LoRAs on an export without weight tables, naming what to do', async () => {
    const exported = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
    try {
      assert.equal(exported.info.patchableWeights, undefined);
      await assert.rejects(
        exported.generate({ prompt: 'x', width: 64, height: 64, steps: 1, networks: patches.slice(0, 1) }),
        /cannot take LoRAs: it has no weight tables \(a checkpoint converted by dreamcord has them\)/,
      );
    } finally {
      await exported.dispose();
    }
  });
});
