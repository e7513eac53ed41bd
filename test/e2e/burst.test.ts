import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';

describe('a burst of 50 /imagine from 10 members at once', () => {
  let bot: BotHarness;
  before(async () => {
    bot = await startBot({
      defaults: (d) => ({ ...d, limits: { ...d.limits, maxQueuedPerMember: 5 } }),
    });
  });
  after(() => bot.stop());

  it('acknowledges every command within 3 s and answers every job', async () => {
    const members = Array.from({ length: 10 }, (_, i) => bot.fake.createMember({ username: `member${i}` }));
    const runs = members.flatMap((user, i) =>
      Array.from({ length: 5 }, (_, j) =>
        bot.fake.sendCommand({ name: 'imagine', user, options: { prompt: `burst ${i}-${j}`, seed: String(i * 10 + j), ...FAST } }),
      ),
    );
    const acks = await Promise.all(runs.map((run) => run.waitForAck()));
    const worst = Math.max(...acks.map((ack) => ack.latencyMs));
    console.log(`# burst: worst acknowledgement ${worst} ms, median ${acks.map((a) => a.latencyMs).sort((a, b) => a - b)[25]} ms`);
    assert.ok(worst < 3000, `worst acknowledgement ${worst} ms`);
    const results = await Promise.all(runs.map((run) => run.waitForOriginal((message) => message.attachments.length > 0, 120_000)));
    assert.equal(new Set(results.map((message) => message.id)).size, 50);
    assert.deepEqual(bot.fake.violations, []);
  });
});
