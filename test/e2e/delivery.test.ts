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
