import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';

describe('after a restart', () => {
  const bots: BotHarness[] = [];
  after(async () => {
    for (const bot of bots) await bot.stopBot();
    await bots[0]?.fake.stop();
  });

  it('buttons and 🎲 reactions on results from before the restart still work', async () => {
    const first = await startBot();
    bots.push(first);
    const run = first.fake.sendCommand({ name: 'imagine', options: { prompt: 'an old result', seed: '5', ...FAST } });
    const result = await run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
    await first.stopBot();

    const second = await startBot({ fake: first.fake, storeUrl: first.storeUrl });
    bots.push(second);
    const customId = result.customIds.find((id) => id.startsWith('dc:reroll:'));
    assert.ok(customId);
    const click = second.fake.clickButton({ message: result, customId });
    const rerolled = await click.waitForOriginal((message) => message.attachments.length > 0, 60_000);
    assert.match(rerolled.embeds[0]?.fields?.find((f) => f.name === 'Prompt')?.value ?? '', /an old result/);

    const count = second.fake.messagesIn().length;
    second.fake.addReaction({ message: result, emoji: '🔁' });
    const reply = await second.fake.waitForMessage(
      (message) => message.attachments.length > 0 && second.fake.messagesIn().indexOf(message) >= count,
      { timeoutMs: 60_000 },
    );
    assert.ok(reply.attachments.length > 0);
    await second.stopBot();
  });

  it('jobs waiting when the bot stopped resume, and their owners see it', async () => {
    const first = await startBot({ fake: bots[0]?.fake, storeUrl: bots[0]?.storeUrl });
    bots.push(first);
    const runs = ['one', 'two', 'three'].map((prompt) =>
      first.fake.sendCommand({ name: 'imagine', options: { prompt: `queued ${prompt}`, width: 128, height: 128, steps: 30 } }),
    );
    await Promise.all(runs.map((run) => run.waitForAck()));
    await first.fake.waitFor(() => runs.every((run) => run.edits.length > 0), 10_000, 'every job to show its place');
    await first.stopBot();

    const second = await startBot({ fake: first.fake, storeUrl: first.storeUrl });
    bots.push(second);
    for (const run of runs) {
      const result = await run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
      assert.equal(result.attachments[0]?.content_type, 'image/png');
    }
    assert.ok(
      runs.some((run) => run.edits.some((edit) => /resumed after a restart/.test(edit.content))),
      'owners were told their job resumed',
    );
  });
});
