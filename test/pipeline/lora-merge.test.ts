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
import { TINY_LORA, TINY_SD } from '../support/checkpoint-files.js';
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
    await model.patching?.merged.unet.release();
    await model.patching?.merged.text_encoder.release();
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
