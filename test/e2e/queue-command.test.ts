import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { hasPictures } from '../support/pictures.js';

// Issue 21, ops: `/queue` shows the queue's length and where jobs run. With GPU workers, see
// test/gpu-workers/scale-out.test.ts; here the bot runs its own pipeline.
describe('/queue with the bot\'s own pipeline', () => {
  let bot: BotHarness;
  before(async () => {
    bot = await startBot({ env: { QUEUE_CONCURRENCY: '1' } });
  });
  after(() => bot.stop());

  const queue = async () => {
    const reply = await bot.fake.sendCommand({ name: 'queue' }).waitForOriginal();
    assert.ok(reply.ephemeral, 'only the member who asked sees it');
    return reply.content;
  };

  it('shows an empty queue and the idle pipeline', async () => {
    assert.equal(await queue(), "**Queue**: 0 waiting · 0 running · 1 batch at once\n**GPU**: this bot's own · cpu · tiny-sd · 1 batch at once, up to 4 pictures each · idle");
  });

  it('shows the job running and the one waiting behind it', { timeout: 120_000 }, async () => {
    const slow = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a slow one', width: 256, height: 256, steps: 40 } });
    await slow.waitForOriginal((message) => message.content.startsWith('🎨'), 60_000);
    const next = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'next', ...FAST } });
    await next.waitForOriginal((message) => message.content.startsWith('⏳'), 30_000);
    assert.equal(await queue(), "**Queue**: 1 waiting · 1 running · 1 batch at once\n**GPU**: this bot's own · cpu · tiny-sd · 1 batch at once, up to 4 pictures each · running 1");
    await Promise.all([slow, next].map((run) => run.waitForOriginal(hasPictures, 100_000)));
    assert.deepEqual(bot.fake.violations, []);
  });
});
