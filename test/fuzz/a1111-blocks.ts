// What members paste into `parameters:`: AUTOMATIC1111 parameters blocks (as A1111, Forge and Civitai write them)
// with their keys' values malformed every way a copy, an edit or a hostile member can break them.
import fc from 'fast-check';
import { hostileText } from './hostile-text.js';

/** Every key dreamcord reads from a block, and some it only names. */
const KEYS = [
  'Steps', 'Sampler', 'Schedule type', 'CFG scale', 'Seed', 'Size', 'Model hash', 'Model', 'Clip skip', 'Denoising strength',
  'Hires upscale', 'Hires steps', 'Hires upscaler', 'Hires sampler', 'Hires schedule type', 'Hires prompt', 'Hires negative prompt',
  'Hires CFG Scale', 'Hires resize-1', 'Variation seed', 'Variation seed strength', 'Seed resize from', 'ENSD', 'RNG', 'Emphasis',
  'Noise Schedule', 'Mask blur', 'Mask mode', 'Masked content', 'Inpaint area', 'Masked area padding', 'Conditional mask weight',
  'Lora hashes', 'TI hashes', 'Version', 'Beta schedule alpha', 'Beta schedule beta', 'Schedule max sigma', 'Face restoration',
  'Noise multiplier', 'Extra noise',
] as const;

/** Values that look like a key's and are not: wrong type, out of range, cut, quoted wrong, in other digits. */
const MALFORMED = [
  '', ' ', '-1', '0', '-0', '1.5', 'NaN', 'Infinity', '-Infinity', '1e308', '1e-320', '0x10', '١٢', '１２', '20 ', ' 20', '+20',
  '18446744073709551615', '18446744073709551616', '-18446744073709551616', '9'.repeat(400),
  '512x', 'x512', '0x0', '512x512x512', '99999999x99999999', '512×512', '-512x512', '64.5x64', '8x8',
  '"', '""', '"unterminated', '"a, b"', '"\\"', '"\\u0000"', '"x: 1, Steps: 2"',
  'Euler a', 'DPM++ 2M', 'DPM++ 2M Karras', 'Karras', 'Exponential', 'Latent', 'Lanczos', 'Latent (nearest)', 'CPU', 'GPU', 'NV',
  'Original', 'Inpaint masked', 'Inpaint not masked', 'Only masked', 'fill', 'latent noise', 'Zero Terminal SNR',
  'tiny-lora: abc', 'a: 1, b', ':', ',', 'v1.10.1', 'None', 'null', 'undefined', '[object Object]',
] as const;

const value = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...MALFORMED) }, { weight: 1, arbitrary: hostileText(3) });
const key = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: hostileText(2) });

/** A block: prompt lines, maybe a negative prompt, then `Key: value` pairs (some keys twice, some missing). */
function block(pairs: fc.Arbitrary<readonly (readonly [string, string])[]>): fc.Arbitrary<string> {
  return fc
    .record({
      prompt: fc.oneof(hostileText(4), fc.constantFrom('', 'a lighthouse at dusk', 'Negative prompt: x', 'Steps: 20')),
      negative: fc.option(hostileText(3), { nil: undefined }),
      pairs,
      separator: fc.constantFrom(', ', ',', ' , ', ',, '),
      newline: fc.constantFrom('\n', '\r\n', '\n\n'),
    })
    .map(({ prompt, negative, pairs: list, separator, newline }) =>
      [prompt, ...(negative === undefined ? [] : [`Negative prompt: ${negative}`]), list.map(([k, v]) => `${k}: ${v}`).join(separator)].join(newline),
    );
}

/** A pasted block with some keys, their values often malformed. */
export const a1111Block: fc.Arbitrary<string> = block(fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 12 }));

/** A pasted block with every key there, each one's value malformed. */
export const everyKeyMalformed: fc.Arbitrary<string> = block(fc.tuple(...KEYS.map((name) => value.map((v) => [name, v] as const))));
