// Issue 14: the job builder checks server policy, then resolves the request once with the pipeline's own contract.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS_PATH, readDefaults } from '../../src/config/index.js';
import { buildGenerationRequest, type GenerationOptions, type RequestDefaults } from '../../src/jobs/build-request.js';
import { MAX_SEED, MODEL_FAMILIES, REQUEST_LIMITS } from '../../src/pipeline/index.js';
import { defaultSettings, type GuildSettings } from '../../src/settings/keys.js';
import type { ServedModel } from '../../src/generator/generator.js';
import { requestDefaults, SD1_MODEL } from '../support/requests.js';

const product = readDefaults(DEFAULTS_PATH);
const LORAS = [
  { name: 'tiny-lora', activationText: '', preferredWeight: 1 },
  { name: 'ink', activationText: 'ink wash, sumi-e', preferredWeight: 0.7 },
];
const DEFAULTS: RequestDefaults = { ...requestDefaults(product.generation), loras: LORAS };
/** DEFAULTS with its one model changed. */
const withModel = (change: Partial<ServedModel>): RequestDefaults => ({ ...DEFAULTS, models: () => [{ ...SD1_MODEL, ...change }] });
/** A server that lets every request through that the pipeline takes. */
const OPEN: GuildSettings = { ...defaultSettings(product), maxSteps: REQUEST_LIMITS.steps.max, maxPixels: 4096 * 4096, minStrength: 0, maxStrength: 1 };

function build(kind: 'txt2img' | 'img2img' | 'inpaint', options: GenerationOptions, defaults = DEFAULTS, settings = OPEN) {
  return buildGenerationRequest(kind, { prompt: 'a cat', ...options }, settings, defaults);
}

describe('buildGenerationRequest', () => {
  it('refuses a seed without room for every image of the job, which the pipeline would fail on later', () => {
    const built = build('txt2img', { seed: String(MAX_SEED), count: 2 });
    assert.equal(built.ok, false);
    assert.match(built.ok ? '' : built.message, /`seed`.*room for 2 images/);
    const lastWithRoom = build('txt2img', { seed: String(MAX_SEED - 1n), count: 2 });
    assert.ok(lastWithRoom.ok && lastWithRoom.request.seed === String(MAX_SEED - 1n));
  });

  it('takes every value the pipeline takes, up to its own limits, and refuses beyond them', () => {
    const { cfg, size } = REQUEST_LIMITS;
    const built = build('txt2img', { cfg: cfg.max, width: size.max, height: size.min });
    assert.ok(built.ok, built.ok ? '' : built.message);
    assert.deepEqual([built.request.cfg, built.request.width], [cfg.max, size.max]);
    assert.equal(build('txt2img', { cfg: cfg.max + 1 }).ok, false);
    assert.equal(build('txt2img', { width: size.max + size.multiple }).ok, false);
  });

  it("draws an aspect ratio at SDXL's nearest training bucket, and at SD 1.x's native short side", () => {
    const sdxl = withModel({ nativeSize: 1024, sizeBuckets: MODEL_FAMILIES.sdxl.sizeBuckets });
    const sizeOf = (aspect: string, defaults = sdxl, settings = OPEN): string => {
      const built = build('txt2img', { aspect }, defaults, settings);
      assert.ok(built.ok, built.ok ? '' : built.message);
      return `${built.request.width}×${built.request.height}`;
    };
    // The buckets (SDXL's), each under the default server's 1024² pixel limit.
    const expected = {
      '1:1': '1024×1024',
      '4:3': '1152×896',
      '3:4': '896×1152',
      '3:2': '1216×832',
      '2:3': '832×1216',
      '16:9': '1344×768',
      '9:16': '768×1344',
      '21:9': '1536×640',
      '9:21': '640×1536',
    };
    const productServer = defaultSettings(product);
    for (const [aspect, size] of Object.entries(expected)) assert.equal(sizeOf(aspect, sdxl, productServer), size, aspect);
    assert.equal(sizeOf('16:9', DEFAULTS), '912×512');
    assert.equal(sizeOf('2:3', DEFAULTS), '512×768');
    // Width or height given: the ratio fills in the other side, buckets or not.
    const wide = build('txt2img', { aspect: '16:9', width: 1024 }, sdxl);
    assert.ok(wide.ok && wide.request.height === 576);
  });

  it('uses the configured strengths and prompt syntax, not built-in ones', () => {
    const configured: RequestDefaults = { ...DEFAULTS, strength: 0.35, inpaintStrength: 0.8, promptSyntax: 'plain' };
    const variation = build('img2img', {}, configured);
    const inpaint = build('inpaint', {}, configured);
    assert.ok(variation.ok && inpaint.ok);
    assert.equal(variation.request.strength, 0.35);
    assert.equal(inpaint.request.strength, 0.8);
    const imagine = build('txt2img', {}, configured);
    assert.ok(imagine.ok);
    assert.deepEqual([variation.request.promptSyntax, imagine.request.promptSyntax], ['plain', 'plain']);
  });

  it("takes a clip skip the model offers, refuses one beyond it, and caps the server's default at the model's", () => {
    const sd1 = withModel({ maxClipSkip: 11 });
    const asked = build('txt2img', { clipSkip: 2 }, sd1);
    assert.ok(asked.ok && asked.request.clipSkip === 2);
    const beyond = build('txt2img', { clipSkip: 12 }, sd1);
    assert.match(beyond.ok ? '' : beyond.message, /`clip_skip` 12 is not available: this model offers at most 11/);
    const exported = build('txt2img', { clipSkip: 2 }, withModel({ maxClipSkip: 1 }));
    assert.match(exported.ok ? '' : exported.message, /offers only 1 \(its text encoder has no earlier layers/);
    assert.equal(build('txt2img', { clipSkip: 0 }).ok, false);
    const serverDefault = build('txt2img', {}, withModel({ maxClipSkip: 1 }), { ...OPEN, clipSkip: 2 });
    assert.ok(serverDefault.ok && serverDefault.request.clipSkip === 1);
    const usual = build('txt2img', {}, sd1, { ...OPEN, clipSkip: 2 });
    assert.ok(usual.ok && usual.request.clipSkip === 2);
  });

  it('takes LoRA tags for the LoRAs there are, up to five, and refuses others, saying which there are', () => {
    assert.ok(build('txt2img', { prompt: 'a cat <lora:tiny-lora:0.8> <lora:ink>' }).ok);
    const unknown = build('txt2img', { prompt: 'a cat <lora:gone:1>' });
    assert.match(unknown.ok ? '' : unknown.message, /There is no LoRA called gone; there are: tiny-lora, ink\.$/);
    const typo = build('txt2img', { prompt: 'a cat <lora:tiny_lora:1>' });
    assert.match(typo.ok ? '' : typo.message, /There is no LoRA called tiny_lora; there are: tiny-lora, ink\. Did you mean tiny-lora\?$/);
    const none = build('txt2img', { prompt: 'a cat <lora:ink>' }, { ...DEFAULTS, loras: [] });
    assert.match(none.ok ? '' : none.message, /This bot has no LoRAs/);
    const six = build('txt2img', { prompt: `a cat ${'<lora:ink:0.1> '.repeat(6)}` });
    assert.match(six.ok ? '' : six.message, /calls 6 LoRAs; the limit is 5/);
    const unreadable = build('txt2img', { prompt: 'a cat <lora:ink:lots>' });
    assert.match(unreadable.ok ? '' : unreadable.message, /The LoRA tag <lora:ink:lots> cannot be read: "lots" is not a number/);
  });

  it("the lora option adds the LoRA's trigger words and its tag at its preferred weight; allowedLoras bars the rest", () => {
    const chosen = build('txt2img', { prompt: 'a heron', lora: 'ink' });
    assert.ok(chosen.ok && chosen.request.prompt === 'a heron, ink wash, sumi-e, <lora:ink:0.7>');
    const plain = build('txt2img', { prompt: 'a heron', lora: 'tiny-lora' });
    assert.ok(plain.ok && plain.request.prompt === 'a heron, <lora:tiny-lora:1>');
    const missing = build('txt2img', { prompt: 'a heron', lora: 'gone' });
    assert.match(missing.ok ? '' : missing.message, /There is no LoRA called gone; choose one from the list/);
    const server = { ...OPEN, allowedLoras: ['ink'] };
    assert.ok(build('txt2img', { prompt: 'a heron <lora:ink:1>' }, DEFAULTS, server).ok);
    const barred = build('txt2img', { prompt: 'a heron', lora: 'tiny-lora' }, DEFAULTS, server);
    assert.equal(barred.ok ? '' : barred.code, 'NOT_ALLOWED');
    assert.match(barred.ok ? '' : barred.message, /does not allow the LoRA tiny-lora; it allows ink/);
  });

  it('remakes a pasted AUTOMATIC1111 parameters block in A1111 mode, under the server\'s limits, saying what it leaves out', () => {
    const block =
      'a heron (at dawn:1.2)\nNegative prompt: fog\nSteps: 12, Sampler: Euler a, Schedule type: Karras, CFG scale: 5, Seed: 77, ' +
      'Size: 512x768, Model: m, ENSD: 31337, Emphasis: No norm, Hires upscale: 1.5, Hires steps: 6, Hires upscaler: Latent (nearest), ' +
      'Denoising strength: 0.45, Lora: x, Version: v1.10.1';
    const built = build('txt2img', { prompt: undefined, parameters: block, steps: 10 });
    assert.ok(built.ok);
    const { request, notices } = built;
    assert.deepEqual(
      [request.prompt, request.negative, request.seed, request.steps, request.cfg, request.sampler, request.width, request.height],
      ['a heron (at dawn:1.2)', 'fog', '77', 10, 5, 'euler_a', 512, 768],
    );
    assert.deepEqual([request.compat, request.scheduleType, request.emphasis, request.ensd], ['a1111', 'Karras', 'No norm', 31337]);
    assert.deepEqual(request.hires, { scale: 1.5, upscaler: 'latent-nearest', steps: 6, strength: 0.45 });
    assert.deepEqual(notices, ['Not honoured from the pasted parameters: Lora: x.']);
    const limited = build('txt2img', { parameters: block }, DEFAULTS, { ...OPEN, maxSteps: 8 });
    assert.equal(limited.ok ? '' : limited.code, 'OVER_LIMIT');
    // A1111's Hires schedule type and Extra noise reach the request, which the pipeline resolves as it runs them.
    const noised = build('txt2img', { parameters: block.replace('Lora: x, ', 'Hires schedule type: Exponential, Extra noise: 0.1, ') });
    assert.ok(noised.ok, noised.ok ? '' : noised.message);
    assert.deepEqual([noised.request.hires?.scheduleType, noised.request.extraNoise, noised.notices], ['Exponential', 0.1, []]);
  });

  it('refuses a strength that leaves no step in diffusers mode, naming it; A1111 mode runs t_enc + 1 steps', () => {
    const built = build('img2img', { steps: 1, strength: 0.5 }, DEFAULTS, { ...OPEN, compat: 'diffusers' });
    assert.equal(built.ok, false);
    assert.match(built.ok ? '' : built.message, /`strength`.*no step would run/);
    const a1111 = build('img2img', { steps: 1, strength: 0.5 });
    assert.ok(a1111.ok && a1111.request.compat === 'a1111');
  });

  it("runs on the model named (case ignored), else the server's default, else the bot's first, at that model's size", () => {
    const xl: ServedModel = { ...SD1_MODEL, name: 'juggernaut-xl', displayName: 'Juggernaut XL', nativeSize: 1024, sizeBuckets: MODEL_FAMILIES.sdxl.sizeBuckets };
    const two: RequestDefaults = { ...DEFAULTS, models: () => [SD1_MODEL, xl] };
    const drawn = (options: GenerationOptions, settings = OPEN): string => {
      const built = build('txt2img', options, two, settings);
      assert.ok(built.ok, built.ok ? '' : built.message);
      return `${built.request.model} ${built.request.width}×${built.request.height}`;
    };
    assert.equal(drawn({}), 'sd15 512×512');
    assert.equal(drawn({ model: 'Juggernaut-XL', aspect: '16:9' }), 'juggernaut-xl 1344×768');
    assert.equal(drawn({}, { ...OPEN, model: 'juggernaut-xl' }), 'juggernaut-xl 1024×1024');
    assert.equal(drawn({ model: 'sd15' }, { ...OPEN, model: 'juggernaut-xl' }), 'sd15 512×512');
    // A server default naming a model removed since: the bot's first.
    assert.equal(drawn({}, { ...OPEN, model: 'gone' }), 'sd15 512×512');
  });

  it('refuses a model that is not served, suggesting close names, and a broken one with the reason', () => {
    const xl: ServedModel = { ...SD1_MODEL, name: 'juggernaut-xl', displayName: 'Juggernaut XL' };
    const broken: ServedModel = { ...SD1_MODEL, name: 'half-download', displayName: 'half', broken: 'half-download.safetensors is truncated' };
    const defaults: RequestDefaults = { ...DEFAULTS, models: () => [SD1_MODEL, xl, broken] };
    const refusal = (model: unknown) => {
      const built = build('txt2img', { model }, defaults);
      return built.ok ? 'accepted' : built.message;
    };
    assert.equal(refusal('jugernaut-xl'), 'There is no model called jugernaut-xl; there are: sd15, juggernaut-xl, half-download. Did you mean juggernaut-xl?');
    assert.equal(refusal('sdxl'), 'There is no model called sdxl; there are: sd15, juggernaut-xl, half-download.');
    assert.equal(refusal('half-download'), 'The model half-download cannot be used: half-download.safetensors is truncated. Pick another model.');
    assert.equal(refusal(7), '`model` must be text.');
  });

  it("starts from the model's defaults: the server's family key, its plain key, the sidecar, the family's, the product's", () => {
    const xl: ServedModel = { ...SD1_MODEL, name: 'xl', family: 'sdxl', nativeSize: 1024, sizeBuckets: MODEL_FAMILIES.sdxl.sizeBuckets };
    const tuned: ServedModel = { ...xl, name: 'tuned', defaults: { steps: 28, sampler: 'euler_a', aspect: '2:3' } };
    const defaults: RequestDefaults = { ...DEFAULTS, models: () => [SD1_MODEL, xl, tuned] };
    const server = defaultSettings(product);
    const drawn = (model: string, set: Partial<GuildSettings> = {}): string => {
      const built = buildGenerationRequest('txt2img', { prompt: 'a cat', model }, { ...server, ...set }, defaults, new Set(Object.keys(set) as (keyof GuildSettings)[]));
      assert.ok(built.ok, built.ok ? '' : built.message);
      const { steps, cfg, sampler, width, height } = built.request;
      return `${steps} ${cfg} ${sampler} ${width}×${height}`;
    };
    // config/default.json: SDXL 30 steps at CFG 6; SD 1.x the plain 25 at 7.
    assert.equal(drawn('sd15'), '25 7 dpmpp_2m_karras 512×512');
    assert.equal(drawn('xl'), '30 6 dpmpp_2m_karras 1024×1024');
    assert.equal(drawn('tuned'), '28 6 euler_a 832×1216');
    assert.equal(drawn('tuned', { steps: 20, aspect: '1:1' }), '20 6 euler_a 1024×1024');
    assert.equal(drawn('tuned', { steps: 20, 'sdxl.steps': 40, 'sdxl.sampler': 'ddim' }), '40 6 ddim 832×1216');
    assert.equal(drawn('sd15', { 'sdxl.steps': 40, 'sd1.cfg': 5 }), '25 5 dpmpp_2m_karras 512×512');
    // A model's default over the server's limit is used at the limit (only what a member types is refused).
    assert.equal(drawn('tuned', { maxSteps: 24 }), '24 6 euler_a 832×1216');
  });
});
