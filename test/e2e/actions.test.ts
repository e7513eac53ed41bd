import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { fieldOf, hasPictures, infotextOf, pixelsOf, privateAnswer, type Pixels } from '../support/pictures.js';
import { PermissionFlagsBits } from 'discord.js';
import { DEFAULT_MEMBER_PERMISSIONS, type FakeMessage } from '../support/fake-discord/index.js';

/** Sets a server setting as a moderator would, with `/config set` (`shown`: how the answer shows the value). */
async function configure(bot: BotHarness, key: string, value: string, shown = value): Promise<void> {
  const user = bot.fake.createMember({ username: `mod-${key}`, permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild });
  const set = bot.fake.sendCommand({ name: 'config', user, subcommand: 'set', options: { key, value } });
  assert.match((await set.waitForOriginal()).content, new RegExp(`\`${key}\`: .* → ${shown}`));
}

/** The size of each picture file of a result (the grid, when there is one, first). */
async function sizesOf(message: FakeMessage): Promise<[number, number][]> {
  return Promise.all(
    message.attachments.map(async (file) => {
      const pixels = await pixelsOf(file.bytes);
      return [pixels.width, pixels.height] as [number, number];
    }),
  );
}

describe('/imagine upscale (hires fix) end to end', () => {
  let bot: BotHarness;
  before(async () => {
    bot = await startBot();
  });
  after(() => bot.stop());

  it('makes the pictures at 2× with a second pass, and records it as A1111 does', async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse at dusk', seed: '21', upscale: '2x', ...FAST } });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    assert.deepEqual(await sizesOf(result), [[128, 128]]);
    const infotext = infotextOf(result);
    assert.deepEqual([infotext.width, infotext.height], [64, 64], "A1111's Size is the first pass's");
    assert.equal(infotext.denoisingStrength, 0.5);
    assert.equal(infotext.extra?.['Hires upscale'], '2');
    assert.equal(infotext.extra?.['Hires upscaler'], 'Latent');
    assert.equal(infotext.extra?.['Hires steps'], '4');
    assert.equal(fieldOf(result, 'Size'), '64×64 → 128×128');
    assert.equal(fieldOf(result, 'Upscale'), '2× Latent, 4 steps, strength 0.5');
    assert.deepEqual(bot.fake.violations, []);
  });

  it('follows the server\'s upscaler and strength (/config)', async () => {
    for (const [key, value] of [
      ['hiresUpscaler', 'lanczos'],
      ['hiresStrength', '0.75'],
    ] as const) {
      await configure(bot, key, value);
    }
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse', seed: '3', upscale: '1.5x', count: 2, ...FAST } });
    const result = await run.waitForOriginal(hasPictures, 60_000);
    assert.deepEqual(await sizesOf(result), [
      [192, 96],
      [96, 96],
      [96, 96],
    ]);
    assert.equal(infotextOf(result).extra?.['Hires upscaler'], 'Lanczos');
    assert.equal(infotextOf(result).denoisingStrength, 0.75);
  });
});

describe('upscale within maxPixels', () => {
  it('refuses a target over the limit, or (overLimit clamp) upscales as far as it fits and says so', async () => {
    const bot = await startBot({ defaults: (d) => ({ ...d, limits: { ...d.limits, maxPixels: 7000 } }) });
    try {
      const refused = await privateAnswer(bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'x', upscale: '2x', ...FAST } }));
      assert.match(refused.content, /Upscaling 64×64 by 2× makes 128×128 \(16384 pixels\), over this server's limit of 7000 pixels/);
      await configure(bot, 'overLimit', 'clamp');
      const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'x', upscale: '2x', ...FAST } });
      const result = await run.waitForOriginal(hasPictures, 60_000);
      assert.deepEqual(await sizesOf(result), [[80, 80]]);
      assert.equal(infotextOf(result).extra?.['Hires upscale'], '1.3');
      assert.match(result.embeds[0]?.description ?? '', /upscaled by 1\.3× to 80×80/);
    } finally {
      await bot.stop();
    }
  });
});

/** The seam of the default mask blur (σ 4 px): its Gaussian kernel's radius, 2·4 + 2. */
const SEAM = 10;

/**
 * How `made` keeps `original`, which lies at (`dx`, `dy`) on it: the original's pixels more than {@link SEAM} from
 * the new area must be exactly the same; `changed` counts the pixels of the new area that are not the edge fill.
 */
function compare(original: Pixels, made: Pixels, dx: number, dy: number): { kept: { total: number; differing: number }; changed: number } {
  const kept = { total: 0, differing: 0 };
  let changed = 0;
  const inside = (x: number, y: number, margin: number) =>
    x - dx >= margin && y - dy >= margin && x - dx < original.width - margin && y - dy < original.height - margin;
  // Only the sides of the picture that meet new area have a seam.
  const margins = { left: dx > 0, top: dy > 0, right: dx + original.width < made.width, bottom: dy + original.height < made.height };
  for (let y = 0; y < made.height; y++) {
    for (let x = 0; x < made.width; x++) {
      const ox = x - dx;
      const oy = y - dy;
      const at = (y * made.width + x) * made.channels;
      if (!inside(x, y, 0)) {
        changed += made.data[at] === original.data[(Math.min(Math.max(oy, 0), original.height - 1) * original.width + Math.min(Math.max(ox, 0), original.width - 1)) * original.channels] ? 0 : 1;
        continue;
      }
      const beyondSeam =
        (!margins.left || ox >= SEAM) && (!margins.top || oy >= SEAM) && (!margins.right || ox < original.width - SEAM) && (!margins.bottom || oy < original.height - SEAM);
      if (!beyondSeam) continue;
      kept.total++;
      const from = (oy * original.width + ox) * original.channels;
      for (let c = 0; c < 3; c++) {
        if (made.data[at + c] !== original.data[from + c]) {
          kept.differing++;
          break;
        }
      }
    }
  }
  return { kept, changed };
}

/** The job id in a result's footer. */
function jobIdOf(message: FakeMessage): string {
  const id = /^Job (\S+)$/.exec(message.embeds[0]?.footer?.text ?? '')?.[1];
  assert.ok(id, 'the result names its job');
  return id;
}

describe('actions on a result end to end (buttons)', () => {
  let bot: BotHarness;
  /** `/imagine count:4 seed:40`: pictures with seeds 40–43. */
  let grid: FakeMessage;
  before(async () => {
    bot = await startBot();
    grid = await bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a harbour', seed: '40', count: 4, ...FAST } }).waitForOriginal(hasPictures, 60_000);
  });
  after(() => bot.stop());

  /** Clicks the button `customId` of `message` and returns the result it starts. */
  function click(message: FakeMessage, customId: string, on = bot): Promise<FakeMessage> {
    assert.ok(message.customIds.includes(customId), `${customId} is among ${message.customIds.join(', ')}`);
    return on.fake.clickButton({ message, customId }).waitForOriginal(hasPictures, 60_000);
  }

  it('a result of 4 pictures has U1–U4 and V1–V4, with 🎲 ℹ️ 🗑️, within Discord\'s 5 rows of 5', () => {
    const id = jobIdOf(grid);
    assert.deepEqual(grid.customIds, [
      `dc:reroll:${id}`,
      `dc:info:${id}`,
      `dc:delete:${id}`,
      ...[1, 2, 3, 4].map((n) => `dc:upscale:${id}:${n}`),
      ...[1, 2, 3, 4].map((n) => `dc:vary:${id}:${n}`),
    ]);
    assert.deepEqual(bot.fake.violations, []);
  });

  it('U3 makes picture 3 again at 2×: the very pixels of /imagine upscale:2x with its seed', async () => {
    const upscaled = await click(grid, `dc:upscale:${jobIdOf(grid)}:3`);
    assert.deepEqual(await sizesOf(upscaled), [[128, 128]]);
    const infotext = infotextOf(upscaled);
    assert.equal(infotext.seed, 42n);
    assert.equal(infotext.extra?.['Hires upscale'], '2');
    const direct = await bot.fake
      .sendCommand({ name: 'imagine', options: { prompt: 'a harbour', seed: '42', upscale: '2x', ...FAST } })
      .waitForOriginal(hasPictures, 60_000);
    const [mine, theirs] = await Promise.all([upscaled, direct].map((m) => pixelsOf(m.attachments[0]?.bytes ?? Buffer.alloc(0))));
    assert.ok(mine && theirs && Buffer.compare(mine.data, theirs.data) === 0, 'the same pixels');
    // An upscaled picture is not upscaled again; it can still be varied.
    const id = jobIdOf(upscaled);
    assert.deepEqual(upscaled.customIds.slice(4, 6), [`dc:vary-subtle:${id}`, `dc:vary-strong:${id}`]);
  });

  it('V2 varies picture 2 of the grid', async () => {
    const varied = await click(grid, `dc:vary:${jobIdOf(grid)}:2`);
    assert.equal(varied.embeds[0]?.title, 'Variation');
    assert.equal(infotextOf(varied).extra?.['Source job'], `${jobIdOf(grid)} (image 2)`);
    assert.equal(infotextOf(varied).denoisingStrength, 0.6, "the server's default strength");
  });

  it('⬆️ on a variation and on a pan: the picture enlarged 2× and redrawn at the server\'s hires strength, with its seed', async () => {
    const varied = await click(grid, `dc:vary:${jobIdOf(grid)}:1`);
    const pannedFrom = await bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a harbour', seed: '11', ...FAST } }).waitForOriginal(hasPictures, 60_000);
    const panned = await click(pannedFrom, `dc:pan-right:${jobIdOf(pannedFrom)}`);
    assert.match(fieldOf(panned, 'Mask') ?? '', /^pan right/);
    for (const source of [varied, panned]) {
      const id = jobIdOf(source);
      // Every result of a single picture gets the same actions: ⬆️, the Vary buttons, zoom and pan.
      assert.deepEqual(source.customIds.slice(4, 9), [`dc:upscale:${id}`, `dc:vary-subtle:${id}`, `dc:vary-strong:${id}`, `dc:zoom-1.5:${id}`, `dc:zoom-2:${id}`]);
      const upscaled = await click(source, `dc:upscale:${id}`);
      assert.deepEqual(await sizesOf(upscaled), [[128, 128]]);
      const infotext = infotextOf(upscaled);
      assert.equal(infotext.seed, infotextOf(source).seed);
      assert.equal(infotext.prompt, 'a harbour');
      assert.equal(infotext.denoisingStrength, 0.5, "the server's hiresStrength");
      assert.equal(infotext.extra?.['Source job'], id);
      assert.equal(fieldOf(upscaled, 'Mask'), undefined, 'the whole picture is redrawn');
      assert.match(upscaled.embeds[0]?.description ?? '', /Upscaled from 64×64: enlarged 2× and redrawn at strength 0\.5/);
      // Upscaled again (within maxPixels), it grows again.
      assert.ok(upscaled.customIds.includes(`dc:upscale:${jobIdOf(upscaled)}`));
    }
    assert.deepEqual(bot.fake.violations, []);
  });

  it('a single picture has ⬆️ Upscale and Vary (subtle / strong), at the strengths /config sets', async () => {
    const single = await bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a harbour', seed: '7', ...FAST } }).waitForOriginal(hasPictures, 60_000);
    const id = jobIdOf(single);
    assert.deepEqual(single.customIds.slice(4, 7), [`dc:upscale:${id}`, `dc:vary-subtle:${id}`, `dc:vary-strong:${id}`]);
    const subtle = await click(single, `dc:vary-subtle:${id}`);
    assert.equal(infotextOf(subtle).denoisingStrength, 0.35);
    await configure(bot, 'varyStrong', '0.8');
    const strong = await click(single, `dc:vary-strong:${id}`);
    assert.equal(infotextOf(strong).denoisingStrength, 0.8);
    assert.equal(infotextOf(strong).extra?.['Source job'], id);
    const upscaled = await click(single, `dc:upscale:${id}`);
    assert.deepEqual(await sizesOf(upscaled), [[128, 128]]);
  });

  it('Zoom out 1.5× and 2× and Pan ⬅️ ⬆️: the new area painted, the old pixels exact outside the seam', async () => {
    const single = await bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a harbour', seed: '8', ...FAST } }).waitForOriginal(hasPictures, 60_000);
    const id = jobIdOf(single);
    assert.deepEqual(single.customIds.slice(9), [`dc:pan-left:${id}`, `dc:pan-right:${id}`, `dc:pan-up:${id}`, `dc:pan-down:${id}`]);
    const original = await pixelsOf(single.attachments[0]?.bytes ?? Buffer.alloc(0));
    const cases = [
      // [button, result size, where the picture lies on the result]
      ['zoom-1.5', 96, 96, 16, 16],
      ['zoom-2', 128, 128, 32, 32],
      ['pan-left', 64, 64, 16, 0],
      ['pan-up', 64, 64, 0, 16],
    ] as const;
    for (const [action, width, height, dx, dy] of cases) {
      const result = await click(single, `dc:${action}:${id}`);
      assert.deepEqual(await sizesOf(result), [[width, height]], action);
      assert.equal(result.embeds[0]?.title, action.startsWith('zoom') ? 'Zoomed out' : 'Panned');
      assert.equal(infotextOf(result).prompt, 'a harbour');
      const made = await pixelsOf(result.attachments[0]?.bytes ?? Buffer.alloc(0));
      const { kept, changed } = compare(original, made, dx, dy);
      assert.ok(kept.total >= 44 * 44, `${action}: ${kept.total} old pixels checked`);
      assert.equal(kept.differing, 0, `${action}: ${kept.differing} of ${kept.total} old pixels beyond the seam changed`);
      assert.ok(changed > 0, `${action}: the new area was painted`);
    }
  });

  it('a zoom out over maxPixels scales the canvas down, and says so', async () => {
    await configure(bot, 'maxPixels', '5000');
    const single = await bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a harbour', seed: '9', ...FAST } }).waitForOriginal(hasPictures, 60_000);
    const zoomed = await click(single, `dc:zoom-2:${jobIdOf(single)}`);
    assert.deepEqual(await sizesOf(zoomed), [[64, 64]]);
    assert.match(zoomed.embeds[0]?.description ?? '', /over this server's limit of 5000 pixels, so the picture was scaled down to 35×35 on a 64×64 canvas/);
    await configure(bot, 'maxPixels', '1048576');
  });

  it('refuses what the server\'s current limits do not allow, to the member alone', async () => {
    await configure(bot, 'maxPixels', '5000');
    const refusal = await privateAnswer(bot.fake.clickButton({ message: grid, customId: `dc:upscale:${jobIdOf(grid)}:1` }));
    assert.match(refusal.content, /Upscaling 64×64 by 2× makes 128×128 .* over this server's limit of 5000 pixels/);
    await configure(bot, 'maxPixels', '1048576');
  });

  it('⬆️ on a 1-step result runs its one hires step, as A1111 does (the fuzz once found it crashing: steps 1 at strength 0.5)', async () => {
    const single = await bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a harbour', seed: '5', ...FAST, steps: 1 } }).waitForOriginal(hasPictures, 60_000);
    const upscaled = await click(single, `dc:upscale:${jobIdOf(single)}`);
    assert.deepEqual(await sizesOf(upscaled), [[128, 128]]);
  });

  it('U1 on a result from before a restart still works', async () => {
    await bot.stopBot();
    const restarted = await startBot({ fake: bot.fake, storeUrl: bot.storeUrl });
    try {
      const upscaled = await click(grid, `dc:upscale:${jobIdOf(grid)}:1`, restarted);
      assert.equal(infotextOf(upscaled).seed, 40n);
      assert.deepEqual(await sizesOf(upscaled), [[128, 128]]);
    } finally {
      await restarted.stopBot();
    }
  });
});

/** A finished result: its pictures and its embed (a progress edit may carry a preview picture, never an embed). */
const isResult = (message: FakeMessage): boolean => hasPictures(message) && message.embeds.length > 0;

describe('live previews', () => {
  it('a long job shows a preview while it runs (a spoiler outside age-restricted channels), at most one edit every 1.5 s, and none in the result', async () => {
    const bot = await startBot({
      defaults: (d) => ({ ...d, limits: { ...d.limits, maxSteps: 100 }, discord: { ...d.discord, progressEditIntervalSeconds: 1 } }),
    });
    try {
      // Many small steps (Heun makes two model calls a step): seconds of steady progress on the tiny model.
      const slow = { prompt: 'a slow job', width: 256, height: 256, steps: 100, sampler: 'Heun', count: 2 };
      // Off by default: no preview.
      const quiet = bot.fake.sendCommand({ name: 'imagine', options: { ...slow, width: 128, height: 128, steps: 20 } });
      await quiet.waitForOriginal(isResult, 120_000);
      assert.ok(quiet.edits.every((edit) => !edit.attachments.some((file) => /preview/.test(file.filename))), 'no preview with previews off');

      await configure(bot, 'previews', 'true', 'on');
      const run = bot.fake.sendCommand({ name: 'imagine', options: slow });
      const result = await run.waitForOriginal(isResult, 300_000); // minutes when the machine is shared
      const previews = run.edits.filter((edit) => edit.attachments.some((file) => /preview\.png$/.test(file.filename)));
      assert.ok(previews.length >= 2, `${previews.length} of ${run.edits.length} edits had a preview`);
      for (const [i, edit] of previews.entries()) {
        const [file] = edit.attachments;
        assert.equal(file?.filename, 'SPOILER_preview.png');
        // The two pictures side by side, each at the latents' size: 1/8 of the picture's.
        const preview = await pixelsOf(file.bytes);
        assert.deepEqual([preview.width, preview.height], [64, 32]);
        const before = previews[i - 1];
        if (before) assert.ok(edit.at - before.at >= 1500, `edits ${edit.at - before.at} ms apart`);
      }
      assert.equal(result.attachments.length, 3, 'the result carries its grid and pictures alone');
      assert.ok(!result.attachments.some((file) => /preview/.test(file.filename)));

    } finally {
      await bot.stop();
    }
  });
});
