// MODELS_DIR as a catalog (issue 16): which entries are models, their sidecars, and the bad input a folder of
// downloads holds (a sidecar that is not valid, two models of one name, a half-downloaded file).
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readCatalog } from '../../src/catalog/index.js';
import { TINY_SD, TINY_SDXL, TINY_SDXL_FOLDER } from '../support/checkpoint-files.js';
import { tempDir } from '../support/temp-dir.js';

describe('model catalog', () => {
  it('lists files, diffusers folders and ONNX folders as models, named without .safetensors, with their sidecars', () => {
    const dir = tempDir();
    copyFileSync(TINY_SD, join(dir, 'sd15-anime.safetensors'));
    copyFileSync(TINY_SDXL, join(dir, 'xl base.safetensors'));
    cpSync(TINY_SDXL_FOLDER, join(dir, 'xl-folder'), { recursive: true });
    cpSync('test/fixtures/tiny-sd', join(dir, 'onnx-model'), { recursive: true });
    writeFileSync(join(dir, 'sd15-anime.json'), JSON.stringify({ displayName: 'Anime 1.5', nsfw: true, defaults: { steps: 28, cfg: 6 } }));
    writeFileSync(join(dir, 'notes.txt'), 'not a model');
    writeFileSync(join(dir, '.big.safetensors.partial'), 'a download under way');
    mkdirSync(join(dir, 'empty-folder'));
    const { models, problems } = readCatalog(dir);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      models.map((m) => [m.name, m.form]),
      [
        ['onnx-model', 'onnx'],
        ['sd15-anime', 'safetensors'],
        ['xl base', 'safetensors'],
        ['xl-folder', 'diffusers'],
      ],
    );
    assert.deepEqual(models.find((m) => m.name === 'sd15-anime')?.sidecar, {
      displayName: 'Anime 1.5',
      nsfw: true,
      defaults: { steps: 28, cfg: 6 },
    });
  });

  it('leaves out a model whose sidecar is not valid, in one line naming the field', () => {
    const dir = tempDir();
    for (const name of ['a', 'b', 'c', 'd']) copyFileSync(TINY_SD, join(dir, `${name}.safetensors`));
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ defaults: { steps: 'many' } }));
    writeFileSync(join(dir, 'b.json'), '{ not json');
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ nsfw: true, colour: 'red' }));
    const { models, problems } = readCatalog(dir);
    assert.deepEqual(
      models.map((m) => m.name),
      ['d'],
    );
    assert.equal(problems.length, 3);
    assert.match(problems[0] ?? '', /^a\.json: `defaults\.steps` is not valid \(.+\); its model is left out$/);
    assert.match(problems[1] ?? '', /^b\.json is not valid JSON \(.+\); its model is left out$/);
    assert.match(problems[2] ?? '', /^c\.json: `colour` is not valid/);
    for (const problem of problems) assert.ok(!problem.includes('\n'), problem);
  });

  it("reads a sidecar's sampler as A1111 names it (kept as its id), and leaves out a model whose sampler is a typo", () => {
    const dir = tempDir();
    for (const name of ['good', 'typo']) copyFileSync(TINY_SD, join(dir, `${name}.safetensors`));
    writeFileSync(join(dir, 'good.json'), JSON.stringify({ defaults: { sampler: 'DPM++ 2M Karras' } }));
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ defaults: { sampler: 'Euler z' } }));
    const { models, problems } = readCatalog(dir);
    assert.deepEqual(models.map((m) => [m.name, m.sidecar?.defaults?.sampler]), [['good', 'dpmpp_2m_karras']]);
    assert.match(problems[0] ?? '', /^typo\.json: `defaults\.sampler` is not valid \(.*Euler z.*\); its model is left out$/);
  });

  it('offers neither of two models with one name (a file and a folder, or names differing in case)', () => {
    const dir = tempDir();
    copyFileSync(TINY_SD, join(dir, 'model.safetensors'));
    cpSync(TINY_SDXL_FOLDER, join(dir, 'model'), { recursive: true });
    copyFileSync(TINY_SD, join(dir, 'Other.safetensors'));
    copyFileSync(TINY_SD, join(dir, 'other.safetensors'));
    copyFileSync(TINY_SD, join(dir, 'fine.safetensors'));
    const { models, problems } = readCatalog(dir);
    assert.deepEqual(
      models.map((m) => m.name),
      ['fine'],
    );
    assert.deepEqual(problems, [
      'Other.safetensors and other.safetensors have the same model name; rename one of them',
      'model and model.safetensors have the same model name; rename one of them',
    ]);
  });
});
