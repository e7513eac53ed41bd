import assert from 'node:assert/strict';
import { PermissionFlagsBits } from 'discord.js';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BOT_PERMISSIONS } from '../support/fake-discord/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';

describe('delivery', () => {
  let bot: BotHarness;
  before(async () => {
    bot = await startBot();
  });
  after(() => bot.stop());

  it('tells the member which permissions the bot lacks in the channel', async () => {
    const channel = bot.fake.createChannel({ name: 'no-files' });
    bot.fake.setPermissions(bot.fake.botMember(), DEFAULT_BOT_PERMISSIONS & ~PermissionFlagsBits.AttachFiles & ~PermissionFlagsBits.EmbedLinks, { channel });
    const run = bot.fake.sendCommand({ name: 'imagine', channel, options: { prompt: 'a cat', ...FAST } });
    const reply = await run.waitForOriginal();
    assert.ok(reply.ephemeral);
    assert.match(reply.content, /missing the \*\*Attach Files\*\*, \*\*Embed Links\*\* permissions/);
  });

  it('posts the result to the channel, mentioning the member, when the interaction token has expired', async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a slow job', width: 128, height: 128, steps: 30 } });
    await run.waitForAck();
    bot.fake.expireToken(run);
    const posted = await bot.fake.waitForMessage((message) => message.attachments.length > 0 && message.content.includes(`<@${bot.fake.member.user.id}>`), { timeoutMs: 60_000 });
    assert.notEqual(posted.id, run.original?.id, 'a new channel message, not the expired interaction reply');
    assert.match(posted.embeds[0]?.fields?.find((f) => f.name === 'Prompt')?.value ?? '', /a slow job/);
    // Progress edits through the dead token were refused (the bot learns of the expiry from Discord's answer).
    assert.deepEqual([...new Set(bot.fake.violations.map((violation) => violation.rule))], ['token-expired']);
  });

  it('puts the images of count 2 in a grid plus one file each, all under the upload limit', async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'two of them', seed: '10', count: 2, ...FAST } });
    const result = await run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
    assert.deepEqual(
      result.attachments.map((file) => file.filename.replace(/^dreamcord-[0-9a-f]{8}-/, '')),
      ['grid.png', '10.png', '11.png'],
    );
    assert.equal(result.embeds[0]?.fields?.find((f) => f.name === 'Seeds')?.value, '`10`, `11`');
  });
});

// Issue 14: delivery is not generation. A result that Discord cannot take holds no GPU slot; it waits, undelivered,
// and is posted once Discord recovers — or after a restart — exactly once.
describe('delivery off the GPU slot', () => {
  /** An outage of every write through `run`'s token (its reply edits, the result's upload among them). */
  const outageOf = (bot: BotHarness, token: string) => bot.fake.injectFault({ method: 'PATCH', path: token, status: 503, times: 1_000_000 });
  const hasPictures = (message: { attachments: readonly unknown[] }) => message.attachments.length > 0;
  const resultMessages = (bot: BotHarness) => bot.fake.messagesIn().filter(hasPictures);

  it('runs the next job while a finished one cannot be uploaded, then posts that result once', { timeout: 120_000 }, async () => {
    const bot = await startBot({ env: { QUEUE_CONCURRENCY: '1' } });
    try {
      const first = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'held up by Discord', ...FAST } });
      await first.waitForAck();
      const outage = outageOf(bot, first.token);
      const second = bot.fake.sendCommand({ name: 'imagine', user: bot.fake.createMember({ username: 'next' }), options: { prompt: 'next in line', ...FAST } });
      // With one GPU slot, the second job can only finish if the first gave its slot back while its upload failed.
      await second.waitForOriginal(hasPictures, 60_000);
      assert.ok(outage.hits > 0, 'the first result was tried during the outage');
      assert.equal(first.original?.attachments.length ?? 0, 0, 'the first result is not shown yet');
      outage.end();
      await first.waitForOriginal(hasPictures, 90_000);
      const shown = resultMessages(bot).filter((message) => message.content.includes(`<@${bot.fake.member.user.id}>`));
      assert.equal(shown.length, 1, 'the first result is posted exactly once');
    } finally {
      await bot.stop();
    }
  });

  it('keeps a result that is undelivered at shutdown, and the next start posts it without generating again', { timeout: 120_000 }, async () => {
    const bot = await startBot();
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'delivered after a restart', ...FAST } });
    await run.waitForAck();
    const outage = outageOf(bot, run.token);
    await bot.fake.waitFor(() => bot.logs.some((line) => line['msg'] === 'Discord failed; retrying the result'), 60_000, 'a failed upload');
    await bot.stopBot();
    outage.end();
    const editsBefore = run.edits.length;
    const again = await startBot({ fake: bot.fake, storeUrl: bot.storeUrl });
    try {
      await run.waitForOriginal(hasPictures, 60_000);
      assert.equal(resultMessages(again).length, 1, 'posted exactly once');
      const later = run.edits.slice(editsBefore).map((edit) => edit.content ?? '');
      // A job generated again would show its place in line (⏳) or its steps (🎨) first.
      assert.deepEqual(later.filter((content) => /⏳|🎨/u.test(content)), [], 'not queued or generated again after the restart');
    } finally {
      await again.stop();
    }
  });
});
