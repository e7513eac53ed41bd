// Properties of the parsers that hostile text reaches. Each is checked by `npm test` (a short seeded run) and by
// `npm run fuzz` (a long one); see test/fuzz/README in the project README's "Development" section.
import assert from 'node:assert/strict';
import { requestDefaults } from '../support/requests.js';
import fc from 'fast-check';
import { COMMANDS } from '../../src/discord/commands/index.js';
import { DEFAULTS_PATH, readDefaults } from '../../src/config/index.js';
import { BUTTON_ACTIONS, buttonId, parseButtonId } from '../../src/discord/delivery/custom-id.js';
import { buildGenerationRequest, type ValidatedRequest } from '../../src/jobs/build-request.js';
import { decodeImage, ImageInputError } from '../../src/pipeline/image/index.js';
import { formatInfotext, parseInfotext, type InfotextParams } from '../../src/pipeline/image/infotext.js';
import { resolveRequest, type GenerateRequest } from '../../src/pipeline/request.js';
import { samplerLabel } from '../../src/pipeline/schedulers/names.js';
import { SCHEDULER_IDS } from '../../src/pipeline/schedulers/types.js';
import { parsePromptAttention } from '../../src/pipeline/tokenizer/attention.js';
import { cleanPrompt } from '../../src/jobs/prompt-text.js';
import { formatValue } from '../../src/discord/commands/setting-text.js';
import { defaultSettings, SETTING_KEY_NAMES, SETTING_KEYS, type GuildSettings } from '../../src/settings/keys.js';
import { parseSettingValue } from '../../src/settings/parse-value.js';
import { parseSettingKey } from '../../src/settings/find-key.js';
import { animated, drawPng, pngHeaderBomb } from '../support/pictures.js';
import { commandOptions } from './command-arbitraries.js';
import { HOSTILE_FRAGMENTS, hostileOrLongText, hostileText, loraCalls } from './hostile-text.js';
import { a1111Block, everyKeyMalformed } from './a1111-blocks.js';
import { oddPictures } from './odd-pictures.js';
import { isPrintable } from './visible-text.js';

/** One property, named for the reports. */
export interface NamedProperty {
  readonly name: string;
  /** Checks the counterexamples found before, then `numRuns` generated cases; throws fast-check's report. */
  readonly check: (options: { readonly seed: number; readonly numRuns: number }) => Promise<void>;
}

function property<T extends unknown[]>(name: string, p: fc.IProperty<T> | fc.IAsyncProperty<T>, examples: T[] = []): NamedProperty {
  const assertProperty = fc.assert as (p: fc.IRawProperty<T>, params: fc.Parameters<T>) => Promise<void> | void;
  return { name, check: async ({ seed, numRuns }) => assertProperty(p, { seed, numRuns, examples, includeErrorInReport: true }) };
}

const PRODUCT = readDefaults(DEFAULTS_PATH);
const SETTINGS = defaultSettings(PRODUCT);
const REQUEST_DEFAULTS = requestDefaults(PRODUCT.generation);
const GENERATING = COMMANDS.filter((command) => command.data.name !== 'config');
/** LoRA file names an operator may have: any script, emoji, spaces, and characters a member must not be shown raw. */
const LORA_NAMES = ['tiny-lora', 'ネコ', 'café ☕', 'Ink wash (v2)', 'rtl\u202Eexe', 'bell\u0007', 'zero\u200Bwidth'] as const;
const UNICODE_LORAS = { ...REQUEST_DEFAULTS, loras: LORA_NAMES.map((name) => ({ name, activationText: '', preferredWeight: 1 })) };


/** Server settings a moderator may choose: the limits that decide what a request may ask. */
const settingsArbitrary: fc.Arbitrary<GuildSettings> = fc
  .record({
    maxSteps: fc.integer({ min: 1, max: 150 }),
    maxCount: fc.integer({ min: 1, max: 4 }),
    maxPixels: fc.integer({ min: 4096, max: 4_194_304 }),
    overLimit: fc.constantFrom('refuse', 'clamp'),
    minStrength: fc.constantFrom(0, 0.05, 0.3),
    maxStrength: fc.constantFrom(0.5, 1),
  })
  .map((limits) => ({ ...SETTINGS, ...limits }));

/** The pipeline request the bot's generator makes of a validated request (see `StableDiffusionGenerator`). */
function pipelineRequestOf(request: ValidatedRequest): GenerateRequest {
  const { negative, seed, strength, kind, variationSeed, ...same } = request;
  const initImage = kind === 'txt2img' ? undefined : { width: request.width, height: request.height, channels: 3 as const, data: new Float32Array(3) };
  return {
    ...same,
    negativePrompt: negative,
    seed: BigInt(seed),
    seedMode: 'per-image',
    ...(variationSeed === undefined ? {} : { variationSeed: BigInt(variationSeed) }),
    ...(initImage ? { initImage, strength } : {}),
  };
}

/**
 * A prompt as the bot writes it into infotext: cleaned, on one line (what Discord can send). A prompt that starts
 * with "Negative prompt:" is ambiguous in A1111's format itself, so it is left out.
 */
const infotextPrompt = hostileText()
  .map((text) => cleanPrompt(text.replace(/[\r\n\u0085\u2028\u2029]/g, ' ')))
  .filter((prompt) => !prompt.startsWith('Negative prompt:'));

/** Infotext fields as the bot writes them, with real sampler labels. */
const infotextArbitrary: fc.Arbitrary<InfotextParams> = fc
  .record({
    prompt: infotextPrompt,
    negativePrompt: infotextPrompt,
    steps: fc.integer({ min: 1, max: 150 }),
    sampler: fc.constantFrom(...SCHEDULER_IDS),
    cfgScale: fc.double({ min: 0, max: 30, noNaN: true, noDefaultInfinity: true }),
    seed: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    width: fc.integer({ min: 8, max: 4096 }),
    height: fc.integer({ min: 8, max: 4096 }),
    model: fc.constantFrom('tiny-sd', 'sd-v1-5', 'my model, v2: final'),
    denoisingStrength: fc.option(fc.double({ min: 0.05, max: 1, noNaN: true }), { nil: undefined }),
    rng: fc.constantFrom('GPU' as const, 'CPU' as const),
    maskBlur: fc.option(fc.integer({ min: 0, max: 64 }), { nil: undefined }),
    sourceJob: fc.option(fc.uuid(), { nil: undefined }),
  })
  .map(({ sampler, sourceJob, rng, negativePrompt, denoisingStrength, maskBlur, ...rest }) => {
    const label = samplerLabel(sampler);
    return {
      ...rest,
      // An empty negative prompt is left out of the text, and GPU is the default RNG that is not written.
      ...(negativePrompt ? { negativePrompt } : {}),
      ...(rng === 'CPU' ? { rng } : {}),
      ...(denoisingStrength !== undefined ? { denoisingStrength } : {}),
      ...(maskBlur !== undefined ? { maskBlur } : {}),
      sampler: label.sampler,
      ...(label.schedule ? { scheduleType: label.schedule } : {}),
      ...(sourceJob ? { extra: { 'Source job': sourceJob } } : {}),
      version: 'dreamcord 0.1.0',
    };
  });

const grey = () => [128, 128, 128];
const [SQUARE, TALL, TINY] = await Promise.all([drawPng(16, 16, grey), drawPng(3, 200, grey), drawPng(8, 8, grey)]);
const ODD = Object.values(await oddPictures()).map(({ bytes }) => bytes);

/** Bytes a member may upload: arbitrary, or real pictures damaged in the ways files arrive damaged. */
const uploadBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc.record({ cut: fc.nat(), png: fc.constantFrom(SQUARE, TALL) }).map(({ cut, png }) => png.subarray(0, cut % png.length)),
  fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), png: fc.constant(SQUARE) }).map(({ at, byte, png }) => {
    const copy = Uint8Array.from(png);
    copy[at % copy.length] = byte;
    return copy;
  }),
  fc.constantFrom(pngHeaderBomb(100_000, 100_000), pngHeaderBomb(0, 0), animated(TINY, 2), new Uint8Array(), ...ODD),
);
/** The decoder's pixel limit in these properties: small, so that "bounded memory" is checked, not assumed. */
const MAX_DECODED_PIXELS = 64 * 64;

export const PURE_PROPERTIES: readonly NamedProperty[] = [
  property(
    'A1111 prompt parser: any text parses into runs of finite weight, without throwing',
    fc.property(hostileOrLongText(), (text) => {
      const { parts } = parsePromptAttention(text);
      for (const part of parts) if (part.kind === 'text') assert.ok(Number.isFinite(part.weight), `weight ${part.weight} of ${JSON.stringify(part.text)}`);
    }),
  ),
  property(
    'infotext: what the writer writes, the parser reads back field for field',
    fc.property(infotextArbitrary, (params) => {
      assert.deepEqual(parseInfotext(formatInfotext(params)), { ...params, seed: BigInt(params.seed) });
    }),
  ),
  property(
    "request resolver: whatever the bot's request builder accepts, the pipeline's resolveRequest accepts",
    fc.property(fc.constantFrom(...GENERATING).chain((command) => commandOptions(command.data)), settingsArbitrary, (options, settings) => {
      const built = buildGenerationRequest(options.kind, options.values, settings, REQUEST_DEFAULTS);
      if (built.ok) resolveRequest(pipelineRequestOf(built.request));
      else assert.ok(isPrintable(built.message), `printable: ${JSON.stringify(built.message)}`);
    }),
    [
      // The last seed with two images: image 2 would need seed 2^64.
      [{ kind: 'txt2img', values: { prompt: 'a cat', seed: '18446744073709551615', count: 2 } }, SETTINGS],
      // A 4:3 picture fitted into 64×64 pixels: its short side fell under the pipeline's 64.
      [{ kind: 'txt2img', values: { prompt: 'a cat', aspect: '4:3' } }, { ...SETTINGS, maxPixels: 4096 }],
      // One step at strength 0.5 runs no step at all.
      [{ kind: 'img2img', values: { prompt: 'a cat', steps: 1, strength: 0.5 } }, SETTINGS],
      // A C1 control that JSON does not escape, quoted back by the sampler's refusal.
      [{ kind: 'txt2img', values: { prompt: 'a cat', sampler: '\u0085' } }, SETTINGS],
    ],
  ),
  property(
    'pasted A1111 blocks: any block, every key malformed or not, gives a request the pipeline accepts or one printable refusal',
    fc.property(
      fc.constantFrom(...GENERATING).chain((command) => commandOptions(command.data)),
      fc.oneof(a1111Block, everyKeyMalformed),
      settingsArbitrary,
      (options, parameters, settings) => {
        const built = buildGenerationRequest(options.kind, { ...options.values, parameters }, settings, REQUEST_DEFAULTS);
        if (built.ok) resolveRequest(pipelineRequestOf(built.request));
        else assert.ok(isPrintable(built.message), `printable: ${JSON.stringify(built.message)}`);
      },
    ),
  ),
  property(
    'LoRA tags: any names and weights, in any script, give a request the pipeline accepts or one printable refusal',
    fc.property(loraCalls(LORA_NAMES), fc.subarray([...LORA_NAMES]), (prompt, allowedLoras) => {
      const built = buildGenerationRequest('txt2img', { prompt }, { ...SETTINGS, allowedLoras }, UNICODE_LORAS);
      if (built.ok) resolveRequest(pipelineRequestOf(built.request));
      else assert.ok(isPrintable(built.message), `printable: ${JSON.stringify(built.message)}`);
    }),
    // A refusal listed the LoRA files as named on disk, a control character in a name included.
    [['<lora:tiny-lorx>', []]],
  ),
  property(
    'settings value parser: any text gives a value or a one-sentence printable refusal; shown values read back the same',
    fc.property(fc.constantFrom(...SETTING_KEY_NAMES), fc.oneof(hostileText(), fc.constantFrom(...HOSTILE_FRAGMENTS)), (key, raw) => {
      const parsed = parseSettingValue(key, raw);
      if (!parsed.ok) {
        assert.ok(isPrintable(parsed.message), `printable: ${JSON.stringify(parsed.message)}`);
        return;
      }
      // The way `/config show` writes a value is one a moderator can type back (empty lists and texts aside).
      const shown = formatValue(key, parsed.value);
      const empty = parsed.value === '' || (Array.isArray(parsed.value) && parsed.value.length === 0);
      // Compared as JSON: "-0" is read as -0 and shown as 0, the same value for every setting.
      if (!empty && SETTING_KEYS[key].input !== 'text') assert.equal(JSON.stringify(parseSettingValue(key, shown)), JSON.stringify(parsed), `${key} ${shown}`);
    }),
    [
      ['steps', '\u0085'],
      ['sampler', '\u0085'],
    ],
  ),
  property(
    'settings key parser: any name gives a key or a one-sentence printable refusal',
    fc.property(fc.oneof(hostileOrLongText(), fc.constantFrom(...HOSTILE_FRAGMENTS)), (name) => {
      const parsed = parseSettingKey(name);
      if (!parsed.ok) assert.ok(isPrintable(parsed.message), `printable: ${JSON.stringify(parsed.message)}`);
    }),
    // JSON quoting left U+0085 as it was (found by the long interaction fuzz, /config reset key:\u0085).
    [['\u0085']],
  ),
  property(
    'custom_id codec: every button id reads back as itself; any other text is refused',
    fc.property(fc.constantFrom(...BUTTON_ACTIONS), fc.uuid(), fc.integer({ min: 1, max: 9 }), hostileText(), (action, jobId, picture, text) => {
      assert.deepEqual(parseButtonId(buttonId(action, jobId)), { action, jobId });
      assert.deepEqual(parseButtonId(buttonId(action, jobId, picture)), { action, jobId, picture });
      for (const candidate of [text, `dc:${action}:${text}`, `dc:${text}:${jobId}`, `${buttonId(action, jobId)}${text}`]) {
        const parsed = parseButtonId(candidate);
        if (parsed) assert.equal(buttonId(parsed.action, parsed.jobId, parsed.picture), candidate);
      }
    }),
  ),
  property(
    'image decoder: arbitrary bytes decode within the pixel limit, or are refused with an ImageInputError',
    fc.asyncProperty(uploadBytes, async (bytes) => {
      try {
        const { image } = await decodeImage(bytes, { maxPixels: MAX_DECODED_PIXELS, maxBytes: 1024 * 1024 });
        assert.ok(image.width * image.height <= MAX_DECODED_PIXELS);
        assert.equal(image.data.length, image.width * image.height * 3);
      } catch (error) {
        if (!(error instanceof ImageInputError)) throw error;
        assert.ok(isPrintable(error.message) && error.message.length > 0);
      }
    }),
  ),
];
