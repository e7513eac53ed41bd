// Issue 18 through the bot, on a checkpoint converted by dreamcord: /imagine clip_skip (every layer offered), shown
// in the embed, the PNG's parameters and the reproduce command, refused beyond the text encoder; an embedding from
// EMBEDDINGS_DIR called by name, with A1111's `TI hashes` in the PNG.
import assert from 'node:assert/strict';
import { PermissionFlagsBits } from 'discord.js';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseInfotext, readPngText } from '../../src/pipeline/image/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { TINY_LORA, TINY_SD, TINYTOK } from '../support/checkpoint-files.js';
import { DEFAULT_MEMBER_PERMISSIONS } from '../support/fake-discord/index.js';
import { processTempDir } from '../support/temp-dir.js';

describe('/imagine with clip skip and embeddings on a converted checkpoint', () => {
  let bot: BotHarness;
  before(async () => {
    const dir = processTempDir();
    const embeddings = join(dir, 'embeddings');
    mkdirSync(embeddings);
    copyFileSync(TINYTOK, join(embeddings, 'tinytok.safetensors'));
    const loras = join(dir, 'loras');
    mkdirSync(loras);
    copyFileSync(TINY_LORA, join(loras, 'tiny-lora.safetensors'));
    copyFileSync(TINY_LORA, join(loras, 'ink.safetensors'));
    // A1111's sidecar, as its extra-networks editor writes it.
    writeFileSync(join(loras, 'ink.json'), JSON.stringify({ 'activation text': 'ink wash', 'preferred weight': 0.6 }));
    const env = { MODEL_DIR: TINY_SD, MODEL_CACHE_DIR: join(dir, 'cache'), EMBEDDINGS_DIR: embeddings, LORA_DIR: loras };
    bot = await startBot({ env });
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
    assert.equal(result.embeds[0]?.fields?.find((f) => f.name === 'Embeddings')?.value, 'tinytok');
  });

  it('merges a LoRA a prompt calls, keeps the tag in the PNG prompt and names the LoRA with its hash', async () => {
    const prompt = 'a lighthouse at dusk <lora:tiny-lora:0.8>';
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt, seed: '5', ...FAST } });
    const result = await run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
    const [file] = result.attachments;
    assert.ok(file);
    const parameters = parseInfotext(readPngText(file.bytes).parameters ?? '');
    assert.equal(parameters.prompt, prompt);
    assert.match(parameters.extra?.['Lora hashes'] ?? '', /^tiny-lora: [0-9a-f]{12}$/);
    assert.equal(result.embeds[0]?.fields?.find((f) => f.name === 'LoRAs')?.value, 'tiny-lora 0.8');
    assert.equal(result.embeds[0]?.fields?.find((f) => f.name === 'Embeddings'), undefined);
  });

  it('refuses a LoRA that is not in LORA_DIR, privately, naming the ones there are', async () => {
    const reply = await bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'x <lora:nope:1>' } }).waitForFollowUp();
    assert.ok(reply.ephemeral);
    assert.match(reply.content, /There is no LoRA called nope; there are: ink, tiny-lora\./);
  });

  it('the lora option: autocomplete shows trigger words; the chosen LoRA joins the prompt; allowedLoras bars others', async () => {
    const complete = bot.fake.sendAutocomplete({ name: 'imagine', options: { prompt: 'a heron', lora: 'wash' }, focused: 'lora' });
    await complete.waitForAck();
    assert.deepEqual(complete.choices, [{ name: 'ink — ink wash', value: 'ink' }]);
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a heron', lora: 'ink', seed: '3', ...FAST } });
    const result = await run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
    const parameters = parseInfotext(readPngText(result.attachments[0]?.bytes ?? new Uint8Array()).parameters ?? '');
    assert.equal(parameters.prompt, 'a heron, ink wash, <lora:ink:0.6>');
    assert.equal(result.embeds[0]?.fields?.find((f) => f.name === 'LoRAs')?.value, 'ink 0.6');
    assert.match(parameters.extra?.['Lora hashes'] ?? '', /^ink: [0-9a-f]{12}$/);

    const moderator = bot.fake.createMember({ username: 'mod', permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild });
    const options = { key: 'allowedLoras', value: 'ink' };
    await bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'set', options }).waitForOriginal();
    const listed = bot.fake.sendAutocomplete({ name: 'imagine', options: { prompt: 'a heron', lora: '' }, focused: 'lora' });
    await listed.waitForAck();
    assert.deepEqual(listed.choices?.map((choice) => choice.value), ['ink']);
    const barred = await bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'x <lora:tiny-lora:1>' } }).waitForFollowUp();
    assert.match(barred.content, /This server does not allow the LoRA tiny-lora; it allows ink/);
  });
});
