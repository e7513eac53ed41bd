// Issue 18 through the bot, on a checkpoint converted by dreamcord: /imagine clip_skip (every layer offered), shown
// in the embed, the PNG's parameters and the reproduce command, refused beyond the text encoder; an embedding from
// EMBEDDINGS_DIR called by name, with A1111's `TI hashes` in the PNG.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseInfotext, readPngText } from '../../src/pipeline/image/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { TINY_SD, TINYTOK } from '../support/checkpoint-files.js';
import { processTempDir } from '../support/temp-dir.js';

describe('/imagine with clip skip and embeddings on a converted checkpoint', () => {
  let bot: BotHarness;
  before(async () => {
    const dir = processTempDir();
    const embeddings = join(dir, 'embeddings');
    mkdirSync(embeddings);
    copyFileSync(TINYTOK, join(embeddings, 'tinytok.safetensors'));
    bot = await startBot({ env: { MODEL_DIR: TINY_SD, MODEL_CACHE_DIR: join(dir, 'cache'), EMBEDDINGS_DIR: embeddings } });
  });
  after(() => bot.stop());

  it('draws at clip skip 2 and says so in the embed, the parameters and the reproduce command', async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'anime girl', seed: '7', clip_skip: 2, ...FAST } });
    const result = await run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
    const [file] = result.attachments;
    assert.ok(file);
    assert.equal(parseInfotext(readPngText(file.bytes).parameters ?? '').clipSkip, 2);
    assert.equal(result.embeds[0]?.fields?.find((f) => f.name === 'Clip skip')?.value, '2');
    const infoId = result.customIds.find((id) => id.startsWith('dc:info:'));
    assert.ok(infoId);
    const parameters = await bot.fake.clickButton({ message: result, customId: infoId }).waitForOriginal();
    assert.match(parameters.content, /\/imagine prompt:anime girl seed:7 .* clip_skip:2/);
    assert.deepEqual(bot.fake.violations, []);
  });

  it('refuses a clip skip beyond the text encoder (tiny-sd has 3 layers)', async () => {
    const reply = await bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'x', clip_skip: 4 } }).waitForFollowUp();
    assert.ok(reply.ephemeral);
    assert.match(reply.content, /`clip_skip` 4 is not available: this model offers at most 3/);
  });

  it('calls an embedding by its name and names it with its hash in the PNG', async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a photo of tinytok', seed: '9', ...FAST } });
    const result = await run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
    const [file] = result.attachments;
    assert.ok(file);
    assert.match(parseInfotext(readPngText(file.bytes).parameters ?? '').extra?.['TI hashes'] ?? '', /^tinytok: [0-9a-f]{12}$/);
  });
});
