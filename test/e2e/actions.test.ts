import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { fieldOf, hasPictures, infotextOf, pixelsOf, privateAnswer } from '../support/pictures.js';
import { PermissionFlagsBits } from 'discord.js';
import { DEFAULT_MEMBER_PERMISSIONS, type FakeMessage } from '../support/fake-discord/index.js';

/** Sets a server setting as a moderator would, with `/config set`. */
async function configure(bot: BotHarness, key: string, value: string): Promise<void> {
  const user = bot.fake.createMember({ username: `mod-${key}`, permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild });
  const set = bot.fake.sendCommand({ name: 'config', user, subcommand: 'set', options: { key, value } });
  assert.match((await set.waitForOriginal()).content, new RegExp(`\`${key}\`: .* → ${value}`));
}

/** The size of each picture file of a result (the grid, when there is one, first). */
async function sizesOf(message: FakeMessage): Promise<[number, number][]> {
  return Promise.all(
    message.attachments.map(async (file) => {
      const pixels = await pixelsOf(file.bytes);
      return [pixels.width, pixels.height] as [number, number];
    }),
  );
}

describe('/imagine upscale (hires fix) end to end', () => {
  let bot: BotHarness;
  before(async () => {
    bot = await startBot();
  });
  after(() => bot.stop());

  it('makes the pictures at 2× with a second pass, and records it as A1111 does', async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse at dusk', seed: '21', upscale: '2x', ...FAST } });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    assert.deepEqual(await sizesOf(result), [[128, 128]]);
    const infotext = infotextOf(result);
    assert.deepEqual([infotext.width, infotext.height], [64, 64], "A1111's Size is the first pass's");
    assert.equal(infotext.denoisingStrength, 0.5);
    assert.equal(infotext.extra?.['Hires upscale'], '2');
    assert.equal(infotext.extra?.['Hires upscaler'], 'Latent');
    assert.equal(infotext.extra?.['Hires steps'], '4');
    assert.equal(fieldOf(result, 'Size'), '64×64 → 128×128');
    assert.equal(fieldOf(result, 'Upscale'), '2× Latent, 4 steps, strength 0.5');
    assert.deepEqual(bot.fake.violations, []);
  });

  it('follows the server\'s upscaler and strength (/config)', async () => {
    for (const [key, value] of [
      ['hiresUpscaler', 'lanczos'],
      ['hiresStrength', '0.75'],
    ] as const) {
      await configure(bot, key, value);
    }
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse', seed: '3', upscale: '1.5x', count: 2, ...FAST } });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    assert.deepEqual(await sizesOf(result), [
      [192, 96],
      [96, 96],
      [96, 96],
    ]);
    assert.equal(infotextOf(result).extra?.['Hires upscaler'], 'Lanczos');
    assert.equal(infotextOf(result).denoisingStrength, 0.75);
  });
});

describe('upscale within maxPixels', () => {
  it('refuses a target over the limit, or (overLimit clamp) upscales as far as it fits and says so', async () => {
    const bot = await startBot({ defaults: (d) => ({ ...d, limits: { ...d.limits, maxPixels: 7000 } }) });
    try {
      const refused = await privateAnswer(bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'x', upscale: '2x', ...FAST } }));
      assert.match(refused.content, /Upscaling 64×64 by 2× makes 128×128 \(16384 pixels\), over this server's limit of 7000 pixels/);
      await configure(bot, 'overLimit', 'clamp');
      const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'x', upscale: '2x', ...FAST } });
      const result = await run.waitForOriginal(hasPictures, 60_000);
      assert.deepEqual(await sizesOf(result), [[80, 80]]);
      assert.equal(infotextOf(result).extra?.['Hires upscale'], '1.3');
      assert.match(result.embeds[0]?.description ?? '', /upscaled by 1\.3× to 80×80/);
    } finally {
      await bot.stop();
    }
  });
});
