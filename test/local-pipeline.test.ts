// The fallback from the CUDA form of the graphs to the portable form, with real conversions of the tiny checkpoint
// and real ONNX Runtime loads: the CUDA form's fused operators have no CPU kernel, so loading it here fails as it
// does on a machine whose CUDA provider is installed but cannot run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { prepareModel } from '../src/convert/model-cache.js';
import type { GraphTarget } from '../src/convert/graphs/image-layers.js';
import { loadInBestForm } from '../src/local-pipeline.js';
import { StableDiffusionPipeline } from '../src/pipeline/index.js';
import { TINY_SD } from './support/checkpoint-files.js';
import { tempDir } from './support/temp-dir.js';

describe('loadInBestForm', () => {
  const cacheDir = join(tempDir(), 'cache');
  const folder = async (target: GraphTarget): Promise<string> => (await prepareModel(TINY_SD, { cacheDir, dtype: 'fp16', target })).dir;
  const load = async (target: GraphTarget): Promise<StableDiffusionPipeline> =>
    StableDiffusionPipeline.load(await folder(target), { provider: 'cpu' });

  it('loads the portable form, saying why, when auto chose the CUDA form and it does not load', async () => {
    const reasons: string[] = [];
    const pipeline = await loadInBestForm('auto', 'cuda', load, (reason) => reasons.push(reason));
    try {
      assert.equal(pipeline.info.dir, await folder('portable'));
      assert.equal(reasons.length, 1);
      assert.match(reasons[0] ?? '', /NhwcConv|GroupNorm|MultiHeadAttention/);
    } finally {
      await pipeline.dispose();
    }
  });

  it('fails as it is when CUDA was asked for by name', async () => {
    const reasons: string[] = [];
    await assert.rejects(loadInBestForm('cuda', 'cuda', load, (reason) => reasons.push(reason)), /cannot load/);
    assert.deepEqual(reasons, []);
  });
});
