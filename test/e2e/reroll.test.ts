import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseInfotext, readPngText } from '../../src/pipeline/image/index.js';
import type { FakeMessage } from '../support/fake-discord/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';

function seedOf(message: FakeMessage): bigint {
  const [file] = message.attachments;
  assert.ok(file, 'the message has an image');
  return parseInfotext(readPngText(file.bytes).parameters ?? '').seed;
}

describe('rerolls', () => {
  let bot: BotHarness;
  let first: FakeMessage;
  before(async () => {
    bot = await startBot();
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse at dusk', seed: '77', ...FAST } });
    first = await run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
  });
  after(() => bot.stop());

  it('🎲 on a result queues the same request with a new seed, marks it ⏳ and answers as a reply', async () => {
    const before = bot.fake.messagesIn().length;
    bot.fake.addReaction({ message: first, emoji: '🎲' });
    const rerolled = await bot.fake.waitForMessage(
      (message) => message.attachments.length > 0 && message.id !== first.id && bot.fake.messagesIn().indexOf(message) >= before,
      { timeoutMs: 60_000 },
    );
    assert.notEqual(seedOf(rerolled), 77n);
    const infotext = parseInfotext(readPngText(rerolled.attachments[0]?.bytes ?? Buffer.alloc(0)).parameters ?? '');
    assert.equal(infotext.prompt, 'a lighthouse at dusk');
    assert.ok(bot.fake.message(first.id)?.reactions.get('⏳')?.has(bot.fake.bot.id), 'the bot marked the reaction as seen');
  });

  it('the 🎲 button rerolls too', async () => {
    const customId = first.customIds.find((id) => id.startsWith('dc:reroll:'));
    assert.ok(customId);
    const click = bot.fake.clickButton({ message: first, customId });
    const result = await click.waitForOriginal((message) => message.attachments.length > 0, 60_000);
    assert.notEqual(seedOf(result), 77n);
  });

  it('ℹ️ shows a copyable command privately', async () => {
    const customId = first.customIds.find((id) => id.startsWith('dc:info:'));
    assert.ok(customId);
    const click = bot.fake.clickButton({ message: first, customId });
    const reply = await click.waitForOriginal();
    assert.ok(reply.ephemeral);
    assert.match(reply.content, /\/imagine prompt:a lighthouse at dusk seed:77 steps:4 cfg:7 sampler:dpmpp_2m_karras model:tiny-sd width:64 height:64/);
  });

  it('🗑️ is refused to another member and works for the requester', async () => {
    const customId = first.customIds.find((id) => id.startsWith('dc:delete:'));
    assert.ok(customId);
    const stranger = bot.fake.createMember({ username: 'mallory' });
    const refused = bot.fake.clickButton({ message: first, customId, user: stranger });
    assert.match((await refused.waitForOriginal()).content, /Only the member who asked or moderators/);
    assert.equal(bot.fake.message(first.id)?.deleted, false);
    bot.fake.clickButton({ message: first, customId });
    await bot.fake.waitFor(() => bot.fake.message(first.id)?.deleted === true, 10_000, 'the result to be deleted');
  });
});
