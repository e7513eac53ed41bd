// Issue 16: a MODELS_DIR model's inpainting model, found by A1111's and Civitai's naming (`<model>-inpainting`),
// does that model's /inpaint; it is no model of its own; an inpainting model with no such model is left out, saying why.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseInfotext, readPngText } from '../../src/pipeline/image/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { TINY_SD, TINY_SD_INPAINT } from '../support/checkpoint-files.js';
import { drawPng } from '../support/pictures.js';
import { processTempDir } from '../support/temp-dir.js';

describe('MODELS_DIR: a model and its <name>-inpainting model', () => {
  let bot: BotHarness;
  before(async () => {
    const dir = processTempDir();
    const models = join(dir, 'models');
    mkdirSync(models);
    copyFileSync(TINY_SD, join(models, 'tiny.safetensors'));
    copyFileSync(TINY_SD_INPAINT, join(models, 'tiny-inpainting.safetensors'));
    copyFileSync(TINY_SD_INPAINT, join(models, 'lonely-inpainting.safetensors'));
    bot = await startBot({ env: { MODEL_DIR: '', MODELS_DIR: models, MODEL_CACHE_DIR: join(dir, 'cache') } });
  });
  after(() => bot.stop());

  const modelOf = (bytes: Uint8Array | undefined) => parseInfotext(readPngText(bytes ?? new Uint8Array()).parameters ?? '').model;

  it('serves the model alone, pairs its inpainting model, and leaves out the one without a model, saying why', () => {
    const served = bot.logs.find((line) => line['msg'] === 'models served');
    assert.deepEqual(served?.['models'], ['tiny']);
    assert.ok(bot.logs.some((line) => line['msg'] === 'a MODELS_DIR model inpaints with its inpainting model' && line['inpainting'] === 'tiny-inpainting'));
    const lonely = bot.logs.find((line) => line['model'] === 'lonely-inpainting');
    assert.equal(lonely?.['msg'], 'a MODELS_DIR inpainting model has no model to inpaint for; left out');
    assert.match(String(lonely?.['reason']), /name it <model>-inpainting/);
  });

  it('/inpaint on the model runs its inpainting model; /imagine the model itself', { timeout: 120_000 }, async () => {
    const picture = await drawPng(64, 64, (x, y) => [x * 4, y * 4, 128]);
    const image = bot.fake.uploadAttachment(picture, 'house.png');
    const inpaint = bot.fake.sendCommand({ name: 'inpaint', options: { image, prompt: 'a red door', region: 'right', model: 'tiny', steps: FAST.steps } });
    const inpainted = await inpaint.waitForOriginal((m) => m.attachments.length > 0, 90_000);
    assert.equal(modelOf(inpainted.attachments[0]?.bytes), 'tiny-inpainting');
    const imagine = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a house', model: 'tiny', ...FAST } });
    assert.equal(modelOf((await imagine.waitForOriginal((m) => m.attachments.length > 0, 90_000)).attachments[0]?.bytes), 'tiny');
  });
});
