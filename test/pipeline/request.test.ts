import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPipelineError } from '../../src/pipeline/errors.js';
import type { Mask, RgbImage } from '../../src/pipeline/image/index.js';
import { MAX_SEED } from '../../src/pipeline/rng/index.js';
import { resolveRequest, type GenerateRequest } from '../../src/pipeline/request.js';

const image: RgbImage = { width: 70, height: 75, channels: 3, data: new Float32Array(70 * 75 * 3) };
const mask: Mask = { width: 70, height: 75, channels: 1, data: new Float32Array(70 * 75) };

function rejects(request: GenerateRequest, field: string, message: RegExp): void {
  assert.throws(
    () => resolveRequest(request),
    (error) =>
      isPipelineError(error, 'INVALID_REQUEST') && error.details.field === field && message.test(error.message),
  );
}

describe('resolveRequest', () => {
  it('fills in the product defaults', () => {
    const resolved = resolveRequest({ prompt: 'x', seed: 1 });
    assert.deepEqual(
      { ...resolved, initImage: undefined, mask: undefined },
      {
        kind: 'txt2img',
        prompt: 'x',
        negativePrompt: '',
        promptSyntax: 'a1111',
        seed: 1n,
        seedMode: 'per-image',
        rng: 'gpu',
        steps: 25,
        clipSkip: 1,
        cfg: 7,
        sampler: 'dpmpp_2m_karras',
        width: 512,
        height: 512,
        count: 1,
        initImage: undefined,
        mask: undefined,
        hires: undefined,
        inpaint: undefined,
        strength: 1,
        preview: false,
        networks: [],
        compat: 'diffusers',
        scheduleType: 'Automatic',
        emphasis: 'Original',
        ensd: 0,
        variationStrength: 0,
        variationSeed: undefined,
        noiseMultiplier: 1,
        extraNoise: 0,
      },
    );
  });

  it('takes A1111 inpainting settings with A1111\'s defaults where A1111 inpaints, and refuses them elsewhere', () => {
    const image = { width: 64, height: 64, channels: 3 as const, data: new Float32Array(64 * 64 * 3) };
    const mask = { width: 64, height: 64, channels: 1 as const, data: new Float32Array(64 * 64).fill(1, 0, 100) };
    const inpaint = (request: Partial<GenerateRequest>) => resolveRequest({ prompt: 'x', initImage: image, mask, compat: 'a1111', sampler: 'Euler a', ...request }).inpaint;
    // A1111's web UI defaults: Mask blur 4, original content, Whole picture with a padding of 32 pixels.
    assert.deepEqual(inpaint({}), { maskBlur: 4, maskedContent: 'original', invertMask: false, maskWeight: 1, onlyMasked: false, maskedPadding: 32 });
    assert.deepEqual(
      inpaint({ inpaint: { maskBlur: 0, maskedContent: 'latent noise', invertMask: true, maskWeight: 0.5, onlyMasked: true, maskedPadding: 8 } }),
      { maskBlur: 0, maskedContent: 'latent noise', invertMask: true, maskWeight: 0.5, onlyMasked: true, maskedPadding: 8 },
    );
    // A sampler A1111 mode runs as diffusers' (DEIS) and diffusers mode take no A1111 settings.
    assert.equal(inpaint({ sampler: 'DEIS' }), undefined);
    rejects({ prompt: 'x', initImage: image, mask, compat: 'a1111', sampler: 'DEIS', inpaint: {} }, 'inpaint', /need a mask, `compat` a1111 and a sampler A1111 runs/);
    rejects({ prompt: 'x', initImage: image, mask, inpaint: { maskedContent: 'original' } }, 'inpaint', /`inpaint` settings are A1111's/);
    rejects({ prompt: 'x', compat: 'a1111', inpaint: {} }, 'inpaint', /`inpaint` settings are A1111's/);
    rejects({ prompt: 'x', initImage: image, mask, compat: 'a1111', inpaint: { maskWeight: 2 } }, 'inpaint.maskWeight', /0–1/);
  });

  it('takes A1111 mode with its schedule types, emphasis modes and ENSD, and per-image seeds even with the cpu rng', () => {
    const a1111 = resolveRequest({ prompt: 'x', compat: 'a1111', rng: 'cpu', sampler: 'DPM++ 2M', scheduleType: 'sgm_uniform', emphasis: 'No norm', ensd: 31337 });
    assert.deepEqual(
      [a1111.compat, a1111.seedMode, a1111.scheduleType, a1111.emphasis, a1111.ensd],
      ['a1111', 'per-image', 'SGM Uniform', 'No norm', 31337],
    );
    // A1111 runs t_enc + 1 steps: a strength whose share of the steps rounds to 0 still runs one.
    assert.equal(resolveRequest({ prompt: 'x', compat: 'a1111', initImage: image, strength: 0.05, steps: 10 }).strength, 0.05);
    rejects({ prompt: 'x', compat: 'a1111', seedMode: 'batch' }, 'seedMode', /A1111 draws noise per image/);
    rejects({ prompt: 'x', scheduleType: 'Karras' }, 'scheduleType', /needs `compat` a1111/);
    rejects({ prompt: 'x', compat: 'a1111', sampler: 'euler_karras', scheduleType: 'Uniform' }, 'scheduleType', /Euler Karras is the Karras schedule/);
    assert.equal(resolveRequest({ prompt: 'x', compat: 'a1111', sampler: 'Euler', scheduleType: 'Beta' }).scheduleType, 'Beta');
    rejects({ prompt: 'x', compat: 'a1111', scheduleType: 'Linear Quadratic' }, 'scheduleType', /Unknown schedule type "Linear Quadratic"/);
    rejects({ prompt: 'x', compat: 'a1111', initImage: image, strength: 0 }, 'strength', /above 0/);
    rejects({ prompt: 'x', emphasis: 'Loud' as never }, 'emphasis', /one of Original, No norm, None/);
    rejects({ prompt: 'x', compat: 'webui' as never }, 'compat', /one of diffusers, a1111/);
    rejects({ prompt: 'x', ensd: -1 }, 'ensd', /integer 0–4294967295/);
    rejects({ prompt: 'x', compat: 'a1111', variationStrength: 1.5 }, 'variationStrength', /number 0–1/);
    rejects({ prompt: 'x', compat: 'a1111', variationStrength: 0.5, variationSeed: -2 }, 'variationSeed', /integer 0–/);
    rejects({ prompt: 'x', compat: 'a1111', sampler: 'DEIS', variationStrength: 0.5 }, 'variationStrength', /a sampler it runs itself/);
    const varied = resolveRequest({ prompt: 'x', compat: 'a1111', sampler: 'Euler', variationStrength: 0.5 });
    assert.ok(varied.variationSeed !== undefined && varied.variationSeed < 2n ** 32n, 'a strength without a seed draws one');
  });

  it('picks the task from the inputs and sizes from the init image (rounded down to multiples of 8)', () => {
    const img2img = resolveRequest({ prompt: 'x', initImage: image });
    assert.deepEqual([img2img.kind, img2img.width, img2img.height, img2img.strength], ['img2img', 64, 72, 0.75]);
    const inpaint = resolveRequest({ prompt: 'x', initImage: image, mask });
    assert.deepEqual([inpaint.kind, inpaint.strength], ['inpaint', 1]);
  });

  it('uses one generator for the batch with the cpu rng, per-image seeds with the gpu rng, unless told', () => {
    assert.equal(resolveRequest({ prompt: 'x', rng: 'cpu' }).seedMode, 'batch');
    assert.equal(resolveRequest({ prompt: 'x', rng: 'cpu', seedMode: 'per-image' }).seedMode, 'per-image');
  });

  it('resolves A1111 sampler names to ids', () => {
    assert.equal(resolveRequest({ prompt: 'x', sampler: 'DPM++ 2M Karras' }).sampler, 'dpmpp_2m_karras');
  });

  it('draws a random 32-bit seed when none is given', () => {
    const { seed } = resolveRequest({ prompt: 'x' });
    assert.ok(seed >= 0n && seed < 2n ** 32n);
  });

  it('names the bad field precisely', () => {
    rejects({ prompt: 'x', steps: 0 }, 'steps', /^Expected `steps` to be an integer 1–150, got 0 \(number\)$/);
    rejects({ prompt: 'x', steps: 2.5 }, 'steps', /got 2.5/);
    rejects({ prompt: 'x', clipSkip: 13 }, 'clipSkip', /^Expected `clipSkip` to be an integer 1–12, got 13 \(number\)$/);
    rejects({ prompt: 'x', cfg: Number.NaN }, 'cfg', /`cfg` to be a number 0–50/);
    rejects({ prompt: 'x', width: 520.5 }, 'width', /multiple of 8 from 64 to 4096/);
    rejects({ prompt: 'x', height: 8 }, 'height', /got 8/);
    rejects({ prompt: 'x', count: 17 }, 'count', /1–16/);
    rejects({ prompt: 'x', seed: -1 }, 'seed', /integer 0–/);
    rejects({ prompt: 'x', seed: MAX_SEED, count: 2 }, 'seed', /room for 2 images/);
    rejects({ prompt: 'x', mask }, 'mask', /needs an `initImage`/);
    rejects({ prompt: 'x', initImage: image, strength: 0.05, steps: 10 }, 'strength', /no step would run/);
    rejects({ prompt: 'x', initImage: image, strength: 1.5 }, 'strength', /0–1/);
    rejects({ prompt: 'x', rng: 'tpu' as 'cpu' }, 'rng', /one of cpu, gpu/);
    rejects({ prompt: 'x', sampler: 'Euler z' }, 'sampler', /Unknown sampler/);
    rejects({ prompt: 7 as unknown as string }, 'prompt', /`prompt` to be a string/);
  });
});
