import assert from 'node:assert/strict';
import { MessageFlags } from 'discord.js';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { readPngText } from '../../src/pipeline/image/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import type { FakeAttachment } from '../support/fake-discord/index.js';
import { hasPictures, pixelsOf } from '../support/pictures.js';

// Issue 19, delivery: the upload limit is the interaction's `attachment_size_limit`; a picture over it comes as
// lossless WebP, else as a high-quality JPEG, saying so; ✉️ sends the full PNG with its parameters by DM.
describe('results over the upload limit', () => {
  let bot: BotHarness;
  /** The picture as a PNG under the default limit: the reference for the other formats (same seed, same picture). */
  let png: FakeAttachment;
  const picture = { prompt: 'a lighthouse at dawn', seed: '4242', ...FAST } as const;

  const imagine = async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: picture });
    return run.waitForOriginal(hasPictures, 60_000);
  };
  /** Whether an edit's body puts files on the message (progress edits send an empty `attachments` list). */
  const carriesFiles = (json: unknown) => {
    const attachments = (json as { attachments?: unknown } | undefined)?.attachments;
    return Array.isArray(attachments) && attachments.length > 0;
  };
  const onlyFile = (message: { attachments: readonly FakeAttachment[] }): FakeAttachment => {
    assert.equal(message.attachments.length, 1);
    return message.attachments[0] as FakeAttachment;
  };

  before(async () => {
    bot = await startBot();
    png = onlyFile(await imagine());
  });
  after(() => bot.stop());

  it('sends the PNG with its parameters when it fits', () => {
    assert.match(png.filename, /\.png$/);
    assert.match(readPngText(png.bytes).parameters ?? '', /Seed: 4242/);
  });

  it('sends a lossless WebP, the same pixels, when the PNG is over the interaction\'s limit, and says so', async () => {
    bot.fake.setAttachmentSizeLimit(png.size - 1);
    try {
      const result = await imagine();
      const file = onlyFile(result);
      assert.match(file.filename, /\.webp$/);
      assert.equal(file.content_type, 'image/webp');
      assert.ok(file.size < png.size);
      assert.deepEqual(await pixelsOf(file.bytes), await pixelsOf(png.bytes));
      assert.match(result.embeds[0]?.description ?? '', /over the upload limit here \(\d+(\.\d)? KiB\) come as lossless WebP.*react ✉️/s);
    } finally {
      bot.fake.setAttachmentSizeLimit(10 * 1024 * 1024);
    }
  });

  it('sends a high-quality JPEG of the full size when the lossless WebP is over the limit too', async () => {
    const pixels = await pixelsOf(png.bytes);
    const webp = await sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } }).webp({ lossless: true }).toBuffer();
    bot.fake.setAttachmentSizeLimit(webp.length - 1);
    try {
      const result = await imagine();
      const file = onlyFile(result);
      assert.match(file.filename, /\.jpg$/);
      assert.ok(file.size < webp.length);
      const jpeg = await pixelsOf(file.bytes);
      assert.deepEqual([jpeg.width, jpeg.height], [pixels.width, pixels.height]);
      const meanError = jpeg.data.reduce((sum, value, i) => sum + Math.abs(value - (pixels.data[i] ?? 0)), 0) / jpeg.data.length;
      // The tiny model's pictures are noise-like, JPEG's worst case: a photograph-like picture stays under 2 (png.test.ts).
      assert.ok(meanError < 8, `mean error ${meanError.toFixed(2)} levels of 255`);
      assert.match(result.embeds[0]?.description ?? '', /come as high-quality JPEG, without their parameters/);

      // ✉️ on it: the full PNG with its parameters, by direct message.
      bot.fake.addReaction({ message: result, emoji: '✉️' });
      const dm = await bot.fake.waitFor(() => bot.fake.directMessagesTo(bot.fake.member).find(hasPictures), 30_000, 'a direct message');
      const full = onlyFile(dm);
      assert.match(full.filename, /\.png$/);
      assert.deepEqual(await pixelsOf(full.bytes), pixels);
      assert.equal(readPngText(full.bytes).parameters, readPngText(png.bytes).parameters);
      assert.match(dm.content, new RegExp(`/channels/${bot.fake.guild.id}/${bot.fake.channel.id}/${result.id}`));
    } finally {
      bot.fake.setAttachmentSizeLimit(10 * 1024 * 1024);
    }
  });

  it('✉️ the moment a result appears, before the bot has heard Discord made it: the pictures still come', async () => {
    // The fake holds back its answer to the edit that puts the result on the reply: the member sees the result
    // while its record still says `undelivered`.
    const hold = bot.fake.holdAnswers({ method: 'PATCH', path: '/messages/@original', body: carriesFiles });
    const run = bot.fake.sendCommand({ name: 'imagine', options: { ...picture, seed: '4343' } });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    assert.equal(hold.held.length, 1, 'the answer is held');
    bot.fake.addReaction({ message: result, emoji: '✉️' });
    // Not a synchronisation: the reaction gets time to reach the bot while the answer is held, so a bot that ignored
    // it would be caught; a bot that waits for the delivery passes however the two interleave.
    await new Promise((resolve) => setTimeout(resolve, 500));
    hold.release();
    const dm = await bot.fake.waitFor(() => bot.fake.directMessagesTo(bot.fake.member).find((message) => message.content.includes(result.id)), 30_000, 'a direct message');
    assert.match(onlyFile(dm).filename, /-4343\.png$/);
  });

  it('tells a member who takes no direct messages so, in a short silent reply', async () => {
    const result = await imagine();
    const private_ = bot.fake.createMember({ username: 'private' });
    bot.fake.closeDirectMessages(private_);
    bot.fake.addReaction({ message: result, emoji: '✉', user: private_ });
    const reply = await bot.fake.waitForMessage((message) => message.content.startsWith(`<@${private_.user.id}>`), { timeoutMs: 30_000 });
    assert.match(reply.content, /I can't send you direct messages: allow direct messages from this server's members/);
    assert.ok((reply.flags & MessageFlags.SuppressNotifications) !== 0, 'no notification');
    assert.deepEqual(bot.fake.directMessagesTo(private_), []);
    assert.deepEqual(bot.fake.violations, []);
  });
});
