// Issue 16: SDXL textual-inversion embeddings (clip_l + clip_g), A1111's rules, on tiny-sdxl. The oracle is
// independent of the embedding code: an embedding whose vectors are the token-embedding rows of "red fox" in both
// encoders (read from tiny-sdxl.safetensors here) must draw exactly the picture the words "red fox" draw.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SafetensorsFile } from '../../src/checkpoint/index.js';
import { convertCheckpoint } from '../../src/convert/convert.js';
import { readEmbedding } from '../../src/networks/index.js';
import { StableDiffusionPipeline, type GenerateRequest, type TextualInversion } from '../../src/pipeline/index.js';
import { TINY_SD, TINY_SDXL, TINYTOK } from '../support/checkpoint-files.js';
import { writeSafetensors } from '../support/safetensors-writer.js';
import { processTempDir } from '../support/temp-dir.js';
import { maxAbsDifference } from './harness.js';

/** CLIP's vocabulary ids of "red</w>" and "fox</w>" (tiny-sdxl's tokenizer/vocab.json; both encoders share it). */
const RED_FOX = [736, 3240];
const dir = processTempDir();
const BASE: GenerateRequest = { prompt: '', negativePrompt: 'blurry', seed: 21, steps: 3, cfg: 5, width: 64, height: 64, sampler: 'euler', rng: 'cpu' };

/** Rows `ids` of the `[vocabulary, width]` table `key` of tiny-sdxl.safetensors, as an F32 tensor's bytes. */
function tokenRows(key: string, ids: readonly number[]): { bytes: Uint8Array; width: number } {
  const table = SafetensorsFile.open(TINY_SDXL);
  const [, width = 0] = table.info(key).shape;
  const values = table.read(key);
  const rows = new Float32Array(ids.length * width);
  ids.forEach((id, i) => rows.set(values.subarray(id * width, (id + 1) * width), i * width));
  return { bytes: new Uint8Array(rows.buffer), width };
}

/** An SDXL embedding file `name.safetensors` of clip_l and clip_g tensors. */
function writeSdxlEmbedding(name: string, clipL: { bytes: Uint8Array; width: number }, clipG: { bytes: Uint8Array; width: number }, count: number): string {
  const file = join(dir, `${name}.safetensors`);
  writeSafetensors(file, [
    { name: 'clip_g', dtype: 'F32', shape: [count, clipG.width], data: clipG.bytes },
    { name: 'clip_l', dtype: 'F32', shape: [count, clipL.width], data: clipL.bytes },
  ]);
  return file;
}

describe('SDXL embeddings', () => {
  let pipeline: StableDiffusionPipeline;
  let embeddings: TextualInversion[];
  const warnings: string[] = [];
  const log = (level: string, message: string) => {
    if (level === 'warn') warnings.push(message);
  };
  before(async () => {
    const clipL = tokenRows('conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight', RED_FOX);
    const clipG = tokenRows('conditioner.embedders.1.model.token_embedding.weight', RED_FOX);
    const wide = { bytes: new Uint8Array(2 * 12 * 4), width: 12 };
    const files = [writeSdxlEmbedding('xltok', clipL, clipG, 2), writeSdxlEmbedding('toowide', clipL, wide, 2), TINYTOK];
    embeddings = await Promise.all(files.map(async (file) => (await readEmbedding(file)).embedding));
    await convertCheckpoint(TINY_SDXL, join(dir, 'tiny-sdxl'), { dtype: 'fp32' });
    pipeline = await StableDiffusionPipeline.load(join(dir, 'tiny-sdxl'), { provider: 'cpu', embeddings, log });
  });
  after(() => pipeline.dispose());

  it('an embedding of the rows of "red fox" in both encoders draws the picture of "red fox", also weighted and in the negative prompt', async (t) => {
    // [prompt, negative prompt] calling the embedding, and the same with its words.
    const pairs: [[string, string], [string, string]][] = [
      [['a photo of xltok in the snow', 'blurry'], ['a photo of red fox in the snow', 'blurry']],
      [['a (xltok:1.3) at dusk', 'blurry'], ['a (red fox:1.3) at dusk', 'blurry']],
      [['a lighthouse', 'xltok'], ['a lighthouse', 'red fox']],
    ];
    for (const [called, words] of pairs) {
      const draw = ([prompt, negativePrompt]: [string, string]) => pipeline.generate({ ...BASE, promptSyntax: 'a1111', prompt, negativePrompt });
      const [ours, oracle] = [await draw(called), await draw(words)];
      const worst = maxAbsDifference(ours.images[0]?.image.data ?? new Float32Array(), oracle.images[0]?.image.data ?? new Float32Array(1));
      t.diagnostic(`${called.join(' / ')}: max |Δ| ${worst.toExponential(2)}`);
      assert.ok(worst < 1e-6, `${called.join(' / ')}: max |Δ| ${worst}`);
      assert.deepEqual(ours.embeddings, ['xltok']);
    }
    const plain = await pipeline.generate({ ...BASE, prompt: 'a photo of a cat in the snow' });
    const fox = await pipeline.generate({ ...BASE, prompt: 'a photo of xltok in the snow' });
    assert.ok(maxAbsDifference(plain.images[0]?.image.data ?? new Float32Array(), fox.images[0]?.image.data ?? new Float32Array(1)) > 1e-3);
  });

  it('leaves out, each with the reason, an SD 1.x embedding and one whose widths do not fit the encoders', () => {
    assert.deepEqual(pipeline.info.embeddings, ['xltok']);
    assert.deepEqual(warnings, [
      "embedding left out: its clip_l and clip_g vectors are 8 and 12 wide; this model's text encoders take 8 and 8",
      'embedding left out: made for SD 1.x / 2.x (one set of vectors); this SDXL model takes SDXL embeddings (clip_l and clip_g)',
    ]);
  });

  it('an SD 1.x model leaves an SDXL embedding out, saying it is one', async () => {
    const sd1Warnings: string[] = [];
    await convertCheckpoint(TINY_SD, join(dir, 'tiny-sd'), { dtype: 'fp32' });
    const sd1 = await StableDiffusionPipeline.load(join(dir, 'tiny-sd'), {
      provider: 'cpu',
      embeddings,
      log: (level, message) => (level === 'warn' ? sd1Warnings.push(message) : undefined),
    });
    try {
      assert.deepEqual(sd1.info.embeddings, ['tinytok']);
      assert.deepEqual(sd1Warnings.slice(0, 1), ['embedding left out: an SDXL embedding (clip_l and clip_g), and this model has one text encoder']);
    } finally {
      await sd1.dispose();
    }
  });
});
