import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import type { FakeMessage } from '../support/fake-discord/index.js';
import {
  animated,
  drawPng,
  fieldOf,
  hasPictures,
  infotextOf,
  INIT_IMAGE,
  pixelsOf,
  pngHeaderBomb,
  privateAnswer,
  zipBomb,
} from '../support/pictures.js';

const STEPS = { steps: FAST.steps } as const;

describe('/variation end to end', () => {
  let bot: BotHarness;
  /** A finished /imagine result to vary. */
  let imagined: FakeMessage;
  before(async () => {
    bot = await startBot();
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse at dusk', seed: '77', ...FAST } });
    imagined = await run.waitForOriginal(hasPictures, 60_000);
  });
  after(() => bot.stop());

  it('registers /variation and /inpaint', () => {
    const names = bot.fake.commands(bot.fake.guild).map((command) => command.name);
    assert.ok(names.includes('variation') && names.includes('inpaint'), `registered: ${names.join(', ')}`);
  });

  it('varies an upload: progress, then a picture whose embed and PNG record the kind, strength and source', async () => {
    const image = bot.fake.uploadAttachment(INIT_IMAGE, 'start.png');
    const run = bot.fake.sendCommand({ name: 'variation', options: { image, prompt: 'a cat', seed: '5', strength: 0.5, ...STEPS } });
    const ack = await run.waitForAck();
    assert.ok(ack.latencyMs < 3000, `acknowledged after ${ack.latencyMs} ms`);
    const result = await run.waitForOriginal(hasPictures, 60_000);
    const infotext = infotextOf(result);
    assert.equal(infotext.prompt, 'a cat');
    assert.equal(infotext.seed, 5n);
    assert.equal(infotext.denoisingStrength, 0.5);
    assert.equal(infotext.extra?.Kind, 'variation');
    assert.equal(infotext.width, 64);
    assert.equal(result.embeds[0]?.title, 'Variation');
    assert.equal(fieldOf(result, 'Strength'), '0.5');
    assert.equal(fieldOf(result, 'Source'), 'upload');
    const picture = await pixelsOf(result.attachments[0]?.bytes ?? Buffer.alloc(0));
    assert.deepEqual([picture.width, picture.height], [64, 64]);
    assert.ok(result.customIds.some((id) => id.startsWith('dc:vary:')), 'the result has a 🔀 Variations button');
    assert.ok(run.edits.some((edit) => /step|line/.test(edit.content)), 'progress was shown first');
    assert.deepEqual(bot.fake.violations, []);
  });

  it('varies an earlier job by its id, with that job\'s prompt, and names it as the source', async () => {
    const jobId = jobIdOf(imagined);
    const run = bot.fake.sendCommand({ name: 'variation', options: { job: jobId, seed: '9', ...STEPS } });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    const infotext = infotextOf(result);
    assert.equal(infotext.prompt, 'a lighthouse at dusk');
    assert.equal(infotext.denoisingStrength, 0.6, 'the default strength');
    assert.equal(infotext.extra?.['Source job'], jobId);
    assert.equal(fieldOf(result, 'Source'), `job \`${jobId}\``);
    const info = result.customIds.find((id) => id.startsWith('dc:info:'));
    assert.ok(info);
    const parameters = await bot.fake.clickButton({ message: result, customId: info }).waitForOriginal();
    assert.ok(parameters.content.includes(`/variation job:${jobId} prompt:a lighthouse at dusk seed:9 steps:4`), parameters.content);
  });

  it('🔀 on a result starts a variation of it', async () => {
    const customId = imagined.customIds.find((id) => id.startsWith('dc:vary:'));
    assert.ok(customId);
    const click = bot.fake.clickButton({ message: imagined, customId });
    const result = await click.waitForOriginal(hasPictures, 60_000);
    assert.equal(result.embeds[0]?.title, 'Variation');
    assert.equal(infotextOf(result).extra?.['Source job'], jobIdOf(imagined));
    assert.equal(infotextOf(result).prompt, 'a lighthouse at dusk');
  });

  it('varies a chosen picture of a job that made several', async () => {
    const wide = await drawPng(100, 70, (x, y) => [x * 2, y * 3, 128]);
    const first = bot.fake.sendCommand({
      name: 'variation',
      options: { image: bot.fake.uploadAttachment(wide, 'wide.png'), prompt: 'a field', count: 2, ...STEPS },
    });
    const pair = await first.waitForOriginal(hasPictures, 60_000);
    // 100×70 is worked on at 96×64 (cropped to multiples of 8) and delivered at that size: nothing was scaled.
    assert.equal(fieldOf(pair, 'Size'), '96×64');
    const run = bot.fake.sendCommand({ name: 'variation', options: { job: jobIdOf(pair), which: 2, ...STEPS } });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    assert.equal(infotextOf(result).extra?.['Source job'], `${jobIdOf(pair)} (image 2)`);
    assert.equal(infotextOf(result).prompt, 'a field');
  });

  it('explains a wrong choice of source privately, before downloading anything', async () => {
    const image = bot.fake.uploadAttachment(INIT_IMAGE, 'start.png');
    const cases: [Record<string, string | number | typeof image>, RegExp][] = [
      [{ image, job: jobIdOf(imagined), prompt: 'x' }, /either an `image` or a `job`, not both/],
      [{ prompt: 'x' }, /upload an `image`, or give the `job` id/],
      [{ image }, /`prompt` is needed for an uploaded picture/],
      [{ job: 'not-a-job' }, /`job` must be a job id/],
      [{ job: '00000000-0000-4000-8000-000000000000' }, /can't find job `00000000-0000-4000-8000-000000000000` on this server/],
      [{ job: jobIdOf(imagined), which: 3 }, /made 1 picture: `which` must be 1/],
    ];
    const downloadsBefore = cdnDownloads(bot).length;
    for (const [options, expected] of cases) {
      const reply = await privateAnswer(bot.fake.sendCommand({ name: 'variation', options }));
      assert.match(reply.content, expected);
    }
    assert.equal(cdnDownloads(bot).length, downloadsBefore, 'nothing was downloaded');
  });

  it('does not vary the job of another server', async () => {
    const other = bot.fake.createGuild('Elsewhere');
    const channel = bot.fake.createChannel({ name: 'art', guild: other });
    const member = bot.fake.createMember({ username: 'eve', guild: other });
    const run = bot.fake.sendCommand({ name: 'variation', options: { job: jobIdOf(imagined) }, channel, user: member });
    assert.match((await privateAnswer(run)).content, /can't find job .* on this server/);
  });
});

/** The job id in a result's footer. */
function jobIdOf(message: FakeMessage): string {
  const id = /^Job (\S+)$/.exec(message.embeds[0]?.footer?.text ?? '')?.[1];
  assert.ok(id, 'the result names its job');
  return id;
}

/** The CDN files the bot fetched (members' uploads: the bot's own results are never downloaded). */
function cdnDownloads(bot: BotHarness): string[] {
  return bot.fake.requests.filter((request) => request.method === 'GET' && request.path.startsWith('/cdn/')).map((request) => request.path);
}

describe('/variation with hostile attachments', () => {
  const MAX_BYTES = 64 * 1024;
  let bot: BotHarness;
  before(async () => {
    bot = await startBot({ defaults: (d) => ({ ...d, attachments: { ...d.attachments, maxDownloadBytes: MAX_BYTES } }) });
  });
  after(() => bot.stop());

  /** Sends `/variation image:<bytes named filename>` and returns the private refusal. */
  async function refusalFor(bytes: Buffer, filename: string): Promise<string> {
    const image = bot.fake.uploadAttachment(bytes, filename);
    const answer = await privateAnswer(bot.fake.sendCommand({ name: 'variation', options: { image, prompt: 'x', ...STEPS } }));
    return answer.content;
  }

  it('refuses a text file named .png, a zip bomb renamed .png, and a GIF', async () => {
    assert.match(await refusalFor(Buffer.from('not a picture at all\n'.repeat(20)), 'notes.png'), /^`image`: This file is not an image\. Send a PNG, JPEG or WebP\.$/);
    assert.match(await refusalFor(zipBomb(64), 'bomb.png'), /^`image`: This file is not an image/);
    const gif = await sharp(INIT_IMAGE).gif().toBuffer();
    assert.match(await refusalFor(gif, 'moving.gif'), /GIF images are not supported\. Send a PNG, JPEG or WebP\./);
  });

  it('refuses an animated PNG, a truncated PNG, and a 20,000 × 20,000 header before decoding it', async () => {
    assert.match(await refusalFor(animated(INIT_IMAGE, 2), 'frames.png'), /Animated images are not supported \(this one has 2 frames\)/);
    const noise = await drawPng(64, 64, (x, y) => [(x * 37 + y * 11) % 256, (x * y) % 256, (x ^ y) * 4]);
    assert.match(await refusalFor(noise.subarray(0, Math.floor(noise.length * 0.6)), 'cut.png'), /incomplete/);
    assert.match(await refusalFor(pngHeaderBomb(20_000, 20_000), 'huge.png'), /The image is 20000×20000 \(400 MP\); the limit is 17 MP\./);
  });

  it('takes a JPEG named .png, and a WebP, for what their bytes are', async () => {
    for (const [bytes, filename] of [[await sharp(INIT_IMAGE).jpeg().toBuffer(), 'photo.png'], [await sharp(INIT_IMAGE).webp().toBuffer(), 'photo.webp']] as const) {
      const run = bot.fake.sendCommand({ name: 'variation', options: { image: bot.fake.uploadAttachment(bytes, filename), prompt: filename, ...STEPS } });
      assert.equal(infotextOf(await run.waitForOriginal(hasPictures, 60_000)).prompt, filename);
    }
  });

  it('refuses a file over the size limit without downloading it, and stops a download that runs over', async () => {
    const big = Buffer.alloc(MAX_BYTES * 2, 7);
    const downloads = cdnDownloads(bot).length;
    assert.match(await refusalFor(big, 'big.png'), /^`image`: The file is 0\.13 MB; the limit is 0\.066 MB\.$/);
    assert.equal(cdnDownloads(bot).length, downloads, 'a file Discord says is too big is not fetched');
    // An attachment whose reported size lies: the bytes are counted as they arrive.
    const lying = { ...bot.fake.uploadAttachment(big, 'small.png'), size: 1000 };
    const answer = await privateAnswer(bot.fake.sendCommand({ name: 'variation', options: { image: lying, prompt: 'x' } }));
    assert.match(answer.content, /^`image`: The file is over the limit of 0\.066 MB\.$/);
  });

  it('downloads only the attachments Discord gave in the interaction, never an address a member typed', async () => {
    const planted = `${bot.fake.cdnBase}/planted/evil.png`;
    const typed = bot.fake.sendCommand({ name: 'variation', options: { job: planted, prompt: planted } });
    assert.match((await privateAnswer(typed)).content, /`job` must be a job id/);
    const image = bot.fake.uploadAttachment(INIT_IMAGE, 'ok.png');
    const run = bot.fake.sendCommand({ name: 'variation', options: { image, prompt: `see ${planted}`, ...STEPS } });
    await run.waitForOriginal(hasPictures, 60_000);
    const uploaded = new Set(bot.fake.interactions.flatMap((interaction) => attachmentPaths(interaction.payload)));
    const fetched = cdnDownloads(bot);
    assert.ok(fetched.length > 0);
    assert.deepEqual(fetched.filter((path) => !uploaded.has(path)), [], 'every download was an attachment of an interaction');
    assert.ok(!bot.fake.requests.some((request) => request.path.includes('planted')), 'the typed address was never fetched');
    assert.deepEqual(bot.fake.violations, []);
  });
});

describe('/variation of a picture larger than the server allows', () => {
  let bot: BotHarness;
  before(async () => {
    bot = await startBot({ defaults: (d) => ({ ...d, limits: { ...d.limits, maxPixels: 128 * 128 } }) });
  });
  after(() => bot.stop());

  it('works on it scaled down, and delivers it at the original aspect ratio', async () => {
    const image = bot.fake.uploadAttachment(await drawPng(300, 130, (x, y) => [x % 256, y, 90]), 'panorama.png');
    const run = bot.fake.sendCommand({ name: 'variation', options: { image, prompt: 'a panorama', ...STEPS } });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    // √(16384 / 39000) scales 300×130 to 194×84, worked on at 192×80 and delivered at 192×83 (300:130 = 192:83.2).
    assert.equal(fieldOf(result, 'Size'), '192×80');
    const picture = await pixelsOf(result.attachments[0]?.bytes ?? Buffer.alloc(0));
    assert.deepEqual([picture.width, picture.height], [192, 83]);
  });
});

/** The CDN paths of the attachments an interaction carried (its `data.resolved.attachments`). */
function attachmentPaths(payload: unknown): string[] {
  const resolved = (payload as { data?: { resolved?: { attachments?: Record<string, { url: string }> } } }).data?.resolved;
  return Object.values(resolved?.attachments ?? {}).map((attachment) => decodeURIComponent(new URL(attachment.url).pathname));
}
