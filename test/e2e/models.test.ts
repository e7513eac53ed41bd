// Issue 16, done when: a newcomer puts one SD 1.5 and one SDXL checkpoint in MODELS_DIR, starts the bot, picks either
// per /imagine and gets pictures at the family's native size. Both models load on first use (converted then).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PermissionFlagsBits } from 'discord.js';
import { DEFAULT_MEMBER_PERMISSIONS } from '../support/fake-discord/index.js';
import { parseInfotext, readPngText } from '../../src/pipeline/image/index.js';
import { startBot, type BotHarness } from '../support/bot-harness.js';
import { TINY_SD, TINY_SDXL } from '../support/checkpoint-files.js';
import type { FakeMessage } from '../support/fake-discord/index.js';
import { processTempDir } from '../support/temp-dir.js';

/** The first picture's parameters (A1111's infotext in the PNG). */
function parametersOf(result: FakeMessage) {
  return parseInfotext(readPngText(result.attachments[0]?.bytes ?? new Uint8Array()).parameters ?? '');
}

describe('many models: MODELS_DIR with an SD 1.5 and an SDXL checkpoint', () => {
  let bot: BotHarness;
  before(async () => {
    const dir = processTempDir();
    const models = join(dir, 'models');
    // A newcomer's folder: two downloads, one with a sidecar.
    mkdirSync(models);
    copyFileSync(TINY_SD, join(models, 'tiny-sd15.safetensors'));
    copyFileSync(TINY_SDXL, join(models, 'tiny-xl.safetensors'));
    writeFileSync(join(models, 'tiny-xl.json'), JSON.stringify({ displayName: 'Tiny XL', description: 'an SDXL fine-tune' }));
    bot = await startBot({ env: { MODEL_DIR: '', MODELS_DIR: models, MODEL_CACHE_DIR: join(dir, 'cache') } });
  });
  after(() => bot.stop());

  it('starts without converting anything, and offers both models by autocomplete, filtered by what is typed', async () => {
    assert.ok(!bot.logs.some((line) => String(line['msg']).startsWith('converting')), 'no conversion before first use');
    const all = bot.fake.sendAutocomplete({ name: 'imagine', options: { prompt: 'a fox', model: '' }, focused: 'model' });
    await all.waitForAck();
    assert.deepEqual(all.choices, [
      { name: 'tiny-sd15 (512²)', value: 'tiny-sd15' },
      { name: 'Tiny XL — an SDXL fine-tune (1024²)', value: 'tiny-xl' },
    ]);
    const typed = bot.fake.sendAutocomplete({ name: 'imagine', options: { prompt: 'a fox', model: 'fine-tune' }, focused: 'model' });
    await typed.waitForAck();
    assert.deepEqual(typed.choices?.map((choice) => choice.value), ['tiny-xl']);
  });

  it('draws with the model picked, at its native size (512² for SD 1.5, 1024² for SDXL), naming it in the PNG', { timeout: 240_000 }, async () => {
    for (const [model, size] of [['tiny-sd15', 512], ['tiny-xl', 1024]] as const) {
      const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a red fox', model, steps: 2, seed: '5' } });
      const result = await run.waitForOriginal((message) => message.attachments.length > 0, 200_000);
      const parameters = parametersOf(result);
      assert.deepEqual([parameters.width, parameters.height, parameters.model], [size, size, model]);
      assert.match(parameters.modelHash ?? '', /^[0-9a-f]{10}$/);
      assert.ok(run.edits.some((edit) => /preparing the model `/.test(edit.content)), `${model}: the wait says the model is being prepared`);
    }
    const loaded = bot.logs.filter((line) => line['msg'] === 'model loaded' && 'loaded' in line).map((line) => line['model']);
    assert.deepEqual(loaded, ['tiny-sd15', 'tiny-xl']);
    assert.deepEqual(bot.fake.violations, []);
  });

  it('refuses a model it does not have, privately, suggesting the close one', async () => {
    const reply = await bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'x', model: 'tiny-sd16' } }).waitForFollowUp();
    assert.ok(reply.ephemeral);
    assert.equal(reply.content, 'There is no model called tiny-sd16; there are: tiny-sd15, tiny-xl. Did you mean tiny-sd15?');
  });

  it("a reroll or variation of a result runs on that result's model; /config model sets the server's default", { timeout: 240_000 }, async () => {
    const first = await bot.fake
      .sendCommand({ name: 'imagine', options: { prompt: 'a heron', model: 'tiny-xl', steps: 1, width: 128, height: 128 } })
      .waitForOriginal((message) => message.attachments.length > 0, 100_000);
    const reroll = first.customIds.find((id) => id.startsWith('dc:reroll:'));
    assert.ok(reroll);
    const rerolled = await bot.fake.clickButton({ message: first, customId: reroll }).waitForOriginal((message) => message.attachments.length > 0, 100_000);
    assert.equal(parametersOf(rerolled).model, 'tiny-xl');
    // A variation of the result: on its model, unless the member names another.
    const jobId = /^Job (\S+)$/.exec(first.embeds[0]?.footer?.text ?? '')?.[1];
    assert.ok(jobId);
    for (const [options, model] of [[{}, 'tiny-xl'], [{ model: 'tiny-sd15' }, 'tiny-sd15']] as const) {
      const varied = await bot.fake
        .sendCommand({ name: 'variation', options: { job: jobId, steps: 2, strength: 0.6, ...options } })
        .waitForOriginal((message) => message.attachments.length > 0, 100_000);
      assert.equal(parametersOf(varied).model, model);
    }

    const moderator = bot.fake.createMember({ username: 'mod', permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild });
    const typo = await bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'set', options: { key: 'model', value: 'tiny_xl' } }).waitForOriginal();
    assert.match(typo.content, /There is no model called tiny_xl; there are: tiny-sd15, tiny-xl\. Did you mean tiny-xl\?/);
    const set = await bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'set', options: { key: 'model', value: 'TINY-XL' } }).waitForOriginal();
    assert.match(set.content, /`model`/);
    const byDefault = await bot.fake
      .sendCommand({ name: 'imagine', options: { prompt: 'a heron', steps: 1, width: 128, height: 128 } })
      .waitForOriginal((message) => message.attachments.length > 0, 100_000);
    assert.equal(parametersOf(byDefault).model, 'tiny-xl');
  });
});
