import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeImage, parseInfotext, readPngText, withParameters } from '../../src/pipeline/image/index.js';
import { A1111_CASES, oracleArray } from '../pipeline/a1111/oracle.js';
import { maxAbsDifference } from '../pipeline/harness.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import type { InteractionHandle } from '../support/fake-discord/index.js';
import { drawPng } from '../support/pictures.js';

/** The PNG a command's result carries. */
async function pictureOf(run: InteractionHandle): Promise<Uint8Array> {
  const result = await run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
  const [file] = result.attachments;
  assert.ok(file);
  return file.bytes;
}

async function pixelsOf(png: Uint8Array): Promise<Float32Array> {
  return (await decodeImage(png, { maxPixels: 1 << 20 })).image.data;
}

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

  it('remakes a pasted AUTOMATIC1111 block as A1111 drew it (its line breaks lost in Discord\'s one-line box)', async () => {
    const c = A1111_CASES.find((x) => x.id === 't2i_dpmpp_2m');
    assert.ok(c);
    const block = (c.infotexts[0] ?? '').replaceAll('\n', ' ');
    const png = await pictureOf(bot.fake.sendCommand({ name: 'imagine', options: { parameters: block } }));
    const worst = maxAbsDifference(await pixelsOf(png), oracleArray(c.output_file));
    // The PNG holds 8-bit values: A1111's picture rounded, within the oracle's tolerance.
    assert.ok(worst <= 0.5 / 255 + 2e-3, `max |Δ| ${worst}`);
    const infotext = parseInfotext(readPngText(png).parameters ?? '');
    assert.deepEqual([infotext.sampler, infotext.scheduleType, infotext.seed, infotext.steps], ['DPM++ 2M', 'Karras', 1003n, 8]);
    assert.deepEqual(bot.fake.violations, []);
  });

  it('remakes a PNG attached as `remake` from the AUTOMATIC1111 parameters it carries, and refuses one without', async () => {
    const c = A1111_CASES.find((x) => x.id === 't2i_dpmpp_2m');
    assert.ok(c);
    const carrier = withParameters(await drawPng(8, 8, () => [10, 20, 30]), c.infotexts[0] ?? '');
    const png = await pictureOf(bot.fake.sendCommand({ name: 'imagine', options: { remake: bot.fake.uploadAttachment(carrier, 'a1111.png') } }));
    const worst = maxAbsDifference(await pixelsOf(png), oracleArray(c.output_file));
    assert.ok(worst <= 0.5 / 255 + 2e-3, `max |Δ| ${worst}`);

    const bare = bot.fake.sendCommand({ name: 'imagine', options: { remake: bot.fake.uploadAttachment(await drawPng(8, 8, () => [1, 2, 3]), 'bare.png') } });
    const refusal = await bare.waitForFollowUp();
    assert.ok(refusal.ephemeral);
    assert.match(refusal.content, /`remake`: This PNG carries no AUTOMATIC1111 parameters/);
    assert.deepEqual(bot.fake.violations, []);
  });

  it('honours a pasted variation seed: at strength 1 the picture is the variation seed\'s own, recorded as A1111 does', async () => {
    const c = A1111_CASES.find((x) => x.id === 't2i_dpmpp_2m');
    assert.ok(c);
    const block = c.infotexts[0] ?? '';
    const picture = (text: string) => pictureOf(bot.fake.sendCommand({ name: 'imagine', options: { parameters: text.replaceAll('\n', ' ') } }));
    const varied = await picture(block.replace(/Model: tiny-sd, /, 'Model: tiny-sd, Variation seed: 77, Variation seed strength: 1, '));
    const direct = await picture(block.replace(/Seed: \d+,/, 'Seed: 77,'));
    assert.equal(maxAbsDifference(await pixelsOf(varied), await pixelsOf(direct)), 0);
    const infotext = parseInfotext(readPngText(varied).parameters ?? '');
    assert.deepEqual([infotext.seed, infotext.variationSeed, infotext.variationStrength], [1003n, 77n, 1]);
    assert.deepEqual(bot.fake.violations, []);
  });

  it('explains an invalid option privately and queues nothing', async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'x', width: 100, height: 64 } });
    const reply = await run.waitForFollowUp();
    assert.ok(reply.ephemeral);
    assert.match(reply.content, /`width` must be a multiple of 8, got 100/);
  });
});
