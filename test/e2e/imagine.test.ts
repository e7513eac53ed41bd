import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseInfotext, readPngText } from '../../src/pipeline/image/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';

describe('/imagine end to end', () => {
  let bot: BotHarness;
  before(async () => {
    bot = await startBot();
  });
  after(() => bot.stop());

  it('registers its commands in the configured guild', () => {
    const names = bot.fake.commands(bot.fake.guild).map((command) => command.name);
    assert.ok(names.includes('imagine'), `registered: ${names.join(', ')}`);
  });

  it('acknowledges at once, shows progress, and answers with a PNG whose parameters match the embed', async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a red fox in the snow', seed: '1234', ...FAST } });
    const ack = await run.waitForAck();
    assert.ok(ack.latencyMs < 3000, `acknowledged after ${ack.latencyMs} ms`);
    const result = await run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
    const [file] = result.attachments;
    assert.ok(file);
    assert.equal(file.content_type, 'image/png');
    const infotext = parseInfotext(readPngText(file.bytes).parameters ?? '');
    assert.equal(infotext.prompt, 'a red fox in the snow');
    assert.equal(infotext.seed, 1234n);
    assert.equal(infotext.steps, 4);
    assert.equal(infotext.width, 64);
    const embed = result.embeds[0];
    const field = (name: string) => embed?.fields?.find((f) => f.name === name)?.value;
    assert.equal(field('Seed'), '`1234`');
    assert.equal(field('Steps'), '4');
    assert.equal(field('Size'), '64×64');
    assert.equal(field('Sampler'), 'DPM++ 2M Karras');
    assert.equal(field('Prompt'), 'a red fox in the snow');
    assert.ok(result.customIds.some((id) => id.startsWith('dc:reroll:')));
    assert.ok(run.edits.some((edit) => /step|line/.test(edit.content)), 'a progress edit was shown before the result');
    assert.deepEqual(bot.fake.violations, []);
  });

  it('explains an invalid option privately and queues nothing', async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'x', width: 100, height: 64 } });
    const reply = await run.waitForFollowUp();
    assert.ok(reply.ephemeral);
    assert.match(reply.content, /`width` must be a multiple of 8, got 100/);
  });
});
