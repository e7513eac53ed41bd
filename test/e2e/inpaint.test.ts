import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { requestFromInfotext, StableDiffusionPipeline } from '../../src/pipeline/index.js';
import { decodeImage, maskLuminance, MASK_REGIONS, regionMask, resizeImage, toRgb8, type Mask } from '../../src/pipeline/image/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import type { FakeMessage, OptionValues } from '../support/fake-discord/index.js';
import { drawPng, fieldOf, hasPictures, infotextOf, INIT_IMAGE, MASK, pixelsOf, privateAnswer, type Pixels } from '../support/pictures.js';

const STEPS = { steps: FAST.steps } as const;
/** `featherMask`'s kernel radius for a blur of σ pixels: 2.5σ rounded. */
const featherRadius = (blur: number) => Math.trunc(2.5 * blur + 0.5);

describe('/inpaint end to end (the main model, latent masking)', () => {
  let bot: BotHarness;
  let init: Pixels;
  before(async () => {
    bot = await startBot();
    init = await pixelsOf(INIT_IMAGE);
  });
  after(() => bot.stop());

  async function inpaint(options: OptionValues): Promise<FakeMessage> {
    const run = bot.fake.sendCommand({ name: 'inpaint', options: { prompt: 'a red door', ...STEPS, ...options } });
    return run.waitForOriginal(hasPictures, 60_000);
  }

  it('repaints the white of a mask file and keeps every other pixel exactly as uploaded', async () => {
    const result = await inpaint({ image: upload(bot, INIT_IMAGE, 'house.png'), mask: upload(bot, MASK, 'mask.png'), seed: '3', mask_blur: 0 });
    const mask = await maskOf(MASK, 64, 64);
    await assertKeptOutside(result, init, mask, 0);
    const infotext = infotextOf(result);
    assert.equal(infotext.extra?.Kind, 'inpaint');
    assert.equal(infotext.extra?.['Mask source'], 'mask file');
    assert.equal(infotext.maskBlur, 0);
    assert.equal(infotext.denoisingStrength, 1);
    assert.equal(infotext.model, 'tiny-sd');
    assert.equal(result.embeds[0]?.title, 'Inpainted');
    assert.equal(fieldOf(result, 'Mask'), 'mask file, blur 0 px');
    assert.equal(fieldOf(result, 'Source'), 'upload');
    const info = result.customIds.find((id) => id.startsWith('dc:info:'));
    assert.ok(info);
    const parameters = await bot.fake.clickButton({ message: result, customId: info }).waitForOriginal();
    assert.ok(parameters.content.includes(
      '/inpaint image:(the same picture) prompt:a red door seed:3 steps:4 cfg:7 sampler:dpmpp_2m_karras strength:1 mask:(the same mask) mask_blur:0',
    ), parameters.content);
    assert.deepEqual(bot.fake.violations, []);
  });

  it('feathers the edge by mask_blur and keeps the pixels beyond it exactly', async () => {
    const result = await inpaint({ image: upload(bot, INIT_IMAGE, 'house.png'), mask: upload(bot, MASK, 'mask.png'), mask_blur: 4 });
    await assertKeptOutside(result, init, await maskOf(MASK, 64, 64), featherRadius(4));
    assert.equal(infotextOf(result).maskBlur, 4);
  });

  it('repaints the transparent pixels of a PNG when no mask or region is given', async () => {
    const hole = (x: number, y: number) => x >= 8 && x < 40 && y >= 16 && y < 48;
    const rgba = await drawPng(64, 64, (x, y) => [...init.data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3), hole(x, y) ? 0 : 255]);
    const result = await inpaint({ image: upload(bot, rgba, 'cutout.png'), mask_blur: 0 });
    const mask: Mask = { width: 64, height: 64, channels: 1, data: Float32Array.from({ length: 64 * 64 }, (_, p) => (hole(p % 64, Math.floor(p / 64)) ? 1 : 0)) };
    await assertKeptOutside(result, init, mask, 0);
    assert.equal(infotextOf(result).extra?.['Mask source'], 'transparency');
  });

  it('repaints each named region', async () => {
    const labels = { left: 'left half', right: 'right half', top: 'top half', bottom: 'bottom half', center: 'center', border: 'background border' };
    for (const region of MASK_REGIONS) {
      const result = await inpaint({ image: upload(bot, INIT_IMAGE, 'house.png'), region, mask_blur: 0 });
      await assertKeptOutside(result, init, regionMask(region, 64, 64), 0);
      assert.equal(fieldOf(result, 'Mask'), `region: ${labels[region]}, blur 0 px`);
    }
  });

  it('stretches a mask of another size over the picture (its resampled edge grey: A1111 repaints it partly)', async () => {
    const small = await sharp(MASK).resize(32, 32, { kernel: 'nearest' }).png().toBuffer();
    const result = await inpaint({ image: upload(bot, INIT_IMAGE, 'house.png'), mask: upload(bot, small, 'small-mask.png'), mask_blur: 0 });
    await assertKeptOutside(result, init, await maskOf(small, 64, 64), 0);
  });

  it("keeps a grey mask's levels in A1111 mode: a band at 39 % grey is partly repainted, not dropped as below half", async () => {
    const grey = await drawPng(64, 64, (x, y) => (y >= 16 && y < 48 && x >= 16 && x < 32 ? [255, 255, 255] : x >= 40 && x < 48 ? [100, 100, 100] : [0, 0, 0]));
    const result = await inpaint({ image: upload(bot, INIT_IMAGE, 'house.png'), mask: upload(bot, grey, 'grey-mask.png'), mask_blur: 0 });
    await assertKeptOutside(result, init, await maskOf(grey, 64, 64), 0);
    const picture = await pixelsOf(result.attachments[0]?.bytes ?? Buffer.alloc(0));
    let bandChanged = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 40; x < 48; x++) bandChanged += [0, 1, 2].some((c) => picture.data[(y * 64 + x) * 3 + c] !== init.data[(y * 64 + x) * 3 + c]) ? 1 : 0;
    }
    // mask_for_overlay doubles 100 to 200: the original shows through at 55 / 255 only.
    assert.ok(bandChanged > 8 * 64 * 0.9, `${bandChanged} of the band's 512 pixels changed`);
  });

  it('inpaints with a pasted AUTOMATIC1111 block: its prompt, sampler, seed, strength and inpainting settings, as the pipeline draws them; what it does not honour named', async () => {
    const block =
      'a blue window\nNegative prompt: blurry\nSteps: 4, Sampler: Euler a, Schedule type: Automatic, CFG scale: 6, Seed: 77, Size: 512x512, ' +
      'Model: tiny-sd, Denoising strength: 0.8, Mask blur: 2, Mask mode: Inpaint not masked, Inpaint area: Only masked, Masked area padding: 8, ' +
      'Masked content: latent noise, Version: v1.10.1';
    const run = bot.fake.sendCommand({ name: 'inpaint', options: { image: upload(bot, INIT_IMAGE, 'house.png'), mask: upload(bot, MASK, 'mask.png'), parameters: block.replaceAll('\n', ' ') } });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    const infotext = infotextOf(result);
    assert.deepEqual(
      [infotext.prompt, infotext.negativePrompt, infotext.sampler, infotext.seed, infotext.steps, infotext.cfgScale, infotext.denoisingStrength],
      ['a blue window', 'blurry', 'Euler a', 77n, 4, 6, 0.8],
    );
    assert.deepEqual(
      [infotext.maskBlur, infotext.maskMode, infotext.inpaintArea, infotext.maskedAreaPadding, infotext.maskedContent],
      [2, 'Inpaint not masked', 'Only masked', 8, 'latent noise'],
    );
    assert.match(result.embeds[0]?.description ?? '', /Not honoured from the pasted parameters: Size: 512x512 \(\/inpaint works at the picture's size\)\./);
    // The library given the block's request, the upload and its mask draws the very same picture.
    const pasted = requestFromInfotext(block);
    const pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
    try {
      const direct = await pipeline.generate({
        ...pasted.request,
        width: 64,
        height: 64,
        initImage: (await decodeImage(INIT_IMAGE, { maxPixels: 1e6 })).image,
        mask: await maskOf(MASK, 64, 64),
        ...(pasted.inpaint ? { inpaint: pasted.inpaint } : {}),
      });
      assert.deepEqual(Array.from((await pixelsOf(result.attachments[0]?.bytes ?? Buffer.alloc(0))).data), Array.from(direct.images[0]?.rgb8.data ?? []));
    } finally {
      await pipeline.dispose();
    }
    assert.deepEqual(bot.fake.violations, []);
  });

  it('a pasted "Inpaint area: Only masked" with a mask that marks nothing reworks the whole picture, as A1111 does, and says so', async () => {
    // A1111 v1.10.1 (processing.py): `get_crop_region_v2` finds no box, so `image_mask = None` — img2img of the picture.
    const block =
      'a blue window\nSteps: 4, Sampler: Euler a, Schedule type: Automatic, CFG scale: 6, Seed: 78, Size: 64x64, ' +
      'Model: tiny-sd, Denoising strength: 0.7, Mask blur: 4, Inpaint area: Only masked, Masked area padding: 8, Masked content: fill, Version: v1.10.1';
    const black = await drawPng(64, 64, () => [0, 0, 0]);
    const run = bot.fake.sendCommand({ name: 'inpaint', options: { image: upload(bot, INIT_IMAGE, 'house.png'), mask: upload(bot, black, 'black.png'), parameters: block.replaceAll('\n', ' ') } });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    assert.match(result.embeds[0]?.description ?? '', /The mask marks nothing to repaint, so "Inpaint area: Only masked" had no area: the whole picture was reworked instead, as AUTOMATIC1111 does\./);
    const infotext = infotextOf(result);
    // A1111 writes neither the area nor the content it did not use.
    assert.deepEqual([infotext.maskBlur, infotext.inpaintArea, infotext.maskedAreaPadding, infotext.maskedContent], [4, undefined, undefined, undefined]);
    // The same request without a mask: the library's img2img of the upload.
    const pasted = requestFromInfotext(block);
    const pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
    try {
      const img2img = await pipeline.generate({ ...pasted.request, initImage: (await decodeImage(INIT_IMAGE, { maxPixels: 1e6 })).image });
      assert.equal(img2img.request.kind, 'img2img');
      assert.deepEqual(Array.from((await pixelsOf(result.attachments[0]?.bytes ?? Buffer.alloc(0))).data), Array.from(img2img.images[0]?.rgb8.data ?? []));
    } finally {
      await pipeline.dispose();
    }
    assert.deepEqual(bot.fake.violations, []);
  });

  it('refuses an /inpaint with neither prompt nor parameters, and a pasted block that does not parse, privately', async () => {
    for (const [options, expected] of [
      [{}, /^`\/inpaint` needs `prompt`, or `parameters` with a pasted AUTOMATIC1111 block\.$/],
      [{ parameters: 'a cat Steps: 8, CFG scale: high, Seed: 1' }, /^The pasted parameters do not read as AUTOMATIC1111's: Line 2/],
    ] as const) {
      const run = bot.fake.sendCommand({ name: 'inpaint', options: { image: upload(bot, INIT_IMAGE, 'house.png'), mask: upload(bot, MASK, 'mask.png'), steps: FAST.steps, ...options } });
      const reply = await run.waitForFollowUp();
      assert.ok(reply.ephemeral);
      assert.match(reply.content, expected);
    }
  });

  it('explains privately, and queues nothing for, a mask that repaints nothing or everything, or no area at all', async () => {
    const black = await drawPng(64, 64, () => [0, 0, 0]);
    const white = await drawPng(64, 64, () => [255, 255, 255]);
    const cases: [OptionValues, RegExp][] = [
      [{ mask: upload(bot, black, 'black.png') }, /^`mask` covers none of the picture \(white marks what to repaint\), so there is nothing to repaint\.$/],
      [{ mask: upload(bot, white, 'white.png') }, /^`mask` covers the whole picture, so nothing of it would be kept\./],
      [{}, /^Tell me what to repaint: attach a `mask` \(white = repaint\), pick a `region`, or upload a PNG whose transparent pixels/],
      [{ mask: upload(bot, MASK, 'mask.png'), region: 'left' }, /^Give either a `mask` or a `region`, not both\.$/],
      [{ mask: upload(bot, Buffer.from('%PDF-1.7 not a mask'), 'mask.png') }, /^`mask`: This file is not an image/],
    ];
    const jobsBefore = bot.logs.filter((line) => line.msg === 'job accepted').length;
    for (const [options, expected] of cases) {
      const run = bot.fake.sendCommand({ name: 'inpaint', options: { image: upload(bot, INIT_IMAGE, 'house.png'), prompt: 'x', ...options } });
      assert.match((await privateAnswer(run)).content, expected);
    }
    assert.equal(bot.logs.filter((line) => line.msg === 'job accepted').length, jobsBefore, 'no job was queued');
  });

  it('refuses a picture that is not an image or has too many pixels', async () => {
    const notes = bot.fake.sendCommand({ name: 'inpaint', options: { image: upload(bot, Buffer.from('hello'), 'notes.txt'), prompt: 'x', region: 'left' } });
    assert.match((await privateAnswer(notes)).content, /^`image`: This file is not an image\. Send a PNG, JPEG or WebP\.$/);
    const huge = await sharp({ create: { width: 5000, height: 4000, channels: 3, background: '#000' } }).png().toBuffer();
    const big = bot.fake.sendCommand({ name: 'inpaint', options: { image: upload(bot, huge, 'huge.png'), prompt: 'x', region: 'left' } });
    assert.match((await privateAnswer(big)).content, /^`image`: The image is 5000×4000 \(20 MP\); the limit is 17 MP\.$/);
  });

  it('🎲 rerolls an inpaint result with its stored picture and mask', async () => {
    const first = await inpaint({ image: upload(bot, INIT_IMAGE, 'house.png'), mask: upload(bot, MASK, 'mask.png'), seed: '11', mask_blur: 0 });
    const before = bot.fake.messagesIn().length;
    bot.fake.addReaction({ message: first, emoji: '🎲' });
    const rerolled = await bot.fake.waitForMessage(
      (message) => hasPictures(message) && message.id !== first.id && bot.fake.messagesIn().indexOf(message) >= before,
      { timeoutMs: 60_000 },
    );
    assert.notEqual(infotextOf(rerolled).seed, 11n);
    assert.equal(infotextOf(rerolled).extra?.['Mask source'], 'mask file');
    await assertKeptOutside(rerolled, init, await maskOf(MASK, 64, 64), 0);
  });
});

describe('/inpaint across a restart', () => {
  const bots: BotHarness[] = [];
  after(async () => {
    for (const bot of bots) await bot.stopBot();
    await bots[0]?.fake.stop();
  });

  it('a queued inpaint finds its stored picture and mask after the bot restarts', async () => {
    const first = await startBot();
    bots.push(first);
    // A slow job ahead keeps the inpaint waiting in line while the bot stops.
    const blocker = first.fake.sendCommand({ name: 'imagine', options: { prompt: 'a slow one', width: 256, height: 256, steps: 20 } });
    await blocker.waitForAck();
    const run = first.fake.sendCommand({
      name: 'inpaint',
      options: { image: upload(first, INIT_IMAGE, 'house.png'), mask: upload(first, MASK, 'mask.png'), prompt: 'a red door', mask_blur: 0, ...STEPS },
    });
    await run.waitFor((handle) => handle.edits.some((edit) => /in line/.test(edit.content)), 30_000, 'the inpaint to wait in line');
    await first.stopBot();

    const second = await startBot({ fake: first.fake, storeUrl: first.storeUrl });
    bots.push(second);
    const result = await run.waitForOriginal(hasPictures, 60_000);
    assert.ok(run.edits.some((edit) => /resumed after a restart/.test(edit.content)), 'the inpaint waited across the restart');
    await assertKeptOutside(result, await pixelsOf(INIT_IMAGE), await maskOf(MASK, 64, 64), 0);
  });
});

describe('/inpaint with an inpainting model (INPAINT_MODEL_DIR)', () => {
  let bot: BotHarness;
  before(async () => {
    bot = await startBot({ env: { INPAINT_MODEL_DIR: 'test/fixtures/tiny-sd-inpaint' } });
  });
  after(() => bot.stop());

  it('inpaints on the 9-channel model and still keeps the pixels outside the mask', async () => {
    const run = bot.fake.sendCommand({
      name: 'inpaint',
      options: { image: upload(bot, INIT_IMAGE, 'house.png'), mask: upload(bot, MASK, 'mask.png'), prompt: 'a red door', mask_blur: 0, ...STEPS },
    });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    assert.equal(infotextOf(result).model, 'tiny-sd-inpaint');
    assert.equal(fieldOf(result, 'Model'), 'tiny-sd-inpaint');
    await assertKeptOutside(result, await pixelsOf(INIT_IMAGE), await maskOf(MASK, 64, 64), 0);
  });

  it('keeps using the main model for /imagine and /variation', async () => {
    const run = bot.fake.sendCommand({ name: 'variation', options: { image: upload(bot, INIT_IMAGE, 'house.png'), prompt: 'a house', ...STEPS } });
    assert.equal(infotextOf(await run.waitForOriginal(hasPictures, 60_000)).model, 'tiny-sd');
  });
});

describe('/inpaint of a picture larger than the server allows', () => {
  let bot: BotHarness;
  before(async () => {
    bot = await startBot({ defaults: (d) => ({ ...d, limits: { ...d.limits, maxPixels: 64 * 64 } }) });
  });
  after(() => bot.stop());

  it('keeps the pixels outside the mask exactly as the picture scaled to the working size', async () => {
    const picture = await drawPng(128, 128, (x, y) => [x * 2, y * 2, (x * y) % 256]);
    const run = bot.fake.sendCommand({ name: 'inpaint', options: { image: upload(bot, picture, 'big.png'), prompt: 'x', region: 'right', mask_blur: 0, ...STEPS } });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    // The same resize the bot applies: 128×128 → 64×64 (Lanczos), the right half repainted.
    const scaled = toRgb8(await resizeImage((await decodeImage(picture, { maxPixels: 128 * 128 })).image, 64, 64));
    await assertKeptOutside(result, { width: 64, height: 64, channels: 3, data: scaled.data }, regionMask('right', 64, 64), 0);
  });
});

function upload(bot: BotHarness, bytes: Buffer, filename: string) {
  return bot.fake.uploadAttachment(bytes, filename);
}

/** A mask file as the bot reads it: luminance, stretched over `width × height`, binarized. */
async function maskOf(file: Buffer, width: number, height: number): Promise<Mask> {
  return maskLuminance((await decodeImage(file, { maxPixels: 1e6 })).image, { width, height });
}

/**
 * Asserts that the result's picture equals `original` at every pixel farther than `radius` from the mask (the
 * feathered edge; a grey pixel, A1111's partial repaint, counts as the mask), and differs from it somewhere inside
 * the mask.
 */
async function assertKeptOutside(result: FakeMessage, original: Pixels, mask: Mask, radius: number): Promise<void> {
  const picture = await pixelsOf(result.attachments[0]?.bytes ?? Buffer.alloc(0));
  assert.deepEqual([picture.width, picture.height, picture.channels], [original.width, original.height, 3]);
  let kept = 0;
  let changed = 0;
  for (let y = 0; y < picture.height; y++) {
    for (let x = 0; x < picture.width; x++) {
      const p = (y * picture.width + x) * 3;
      const same = [0, 1, 2].every((c) => picture.data[p + c] === original.data[p + c]);
      if (mask.data[y * mask.width + x] === 1) changed += same ? 0 : 1;
      else if (!nearMask(mask, x, y, radius)) {
        assert.ok(same, `pixel (${x}, ${y}) outside the mask changed`);
        kept++;
      }
    }
  }
  assert.ok(kept > 0, 'some pixels lie outside the mask');
  assert.ok(changed > 0, 'the masked area was repainted');
}

/** Whether a repainted pixel lies within `radius` (in x and in y) of (x, y). */
function nearMask(mask: Mask, x: number, y: number, radius: number): boolean {
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      const mx = x + dx;
      const my = y + dy;
      if (mx >= 0 && my >= 0 && mx < mask.width && my < mask.height && (mask.data[my * mask.width + mx] ?? 0) > 0) return true;
    }
  }
  return false;
}
