// Text a hostile member types: fragments that break parsers, mixed with arbitrary strings.
import fc from 'fast-check';

/** Pieces that have broken prompt parsers, number readers and Discord messages before. */
export const HOSTILE_FRAGMENTS: readonly string[] = [
  '(word:1e9)', '(x:-1)', '(x:.)', '(x:9999999999999999999999999999999999999999)', '[[[[', ']]]]', '((((((', '\\', '\\(', ':',
  'BREAK', 'BREAK BREAK', 'BREAKBREAK', '<lora:x:abc>', '<hypernet:y:1>', '{a|b}', '[a:b:0.5]', '[a|b]',
  '\u200F', '\u202E', '\u2066', '\u200D', '\u200B', '\uFEFF', '\u0000', '\u0007', '\u001B[31m', '\u0085', '\u2028',
  '\uD800', '\uDFFF', '\u{E0041}', '\u3164', '\u00AD', '👨‍👩‍👧', 'ｓｐｉｄｅｒ',
  'NaN', 'Infinity', '-Infinity', '1e308', '-0', '0x10', '18446744073709551615', '18446744073709551616', '-1', '٣٤',
  '@everyone', '<@&1234567890123456789>', '`', '```', '**', '||', '"', ',', 'Negative prompt:', 'Steps: 1',
  'undefined', 'null', '[object Object]', '__proto__', 'constructor',
];

/** A string built from hostile fragments and arbitrary characters, of any length up to `maxLength` pieces. */
export function hostileText(maxLength = 12): fc.Arbitrary<string> {
  const piece = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_FRAGMENTS) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
    { weight: 2, arbitrary: fc.constantFrom(' ', 'a cat', 'lighthouse', '(red:1.3)', '[blue]') },
  );
  return fc.array(piece, { maxLength }).map((pieces) => pieces.join(''));
}

/** A hostile string, or one of the extreme lengths (empty, just over a limit, 100 000 characters). */
export function hostileOrLongText(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: hostileText() },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', 'x'.repeat(1501), 'y'.repeat(100_000), '9'.repeat(25), 'BREAK '.repeat(17)) },
  );
}

/** A prompt calling LoRAs: `names` as they are, near misses, names in any script, with weights good and bad. */
export function loraCalls(names: readonly string[]): fc.Arbitrary<string> {
  const name = fc.oneof(
    fc.constantFrom(...names),
    fc.constantFrom(...names).map((known) => `${known.slice(0, -1)}x`),
    fc.string({ unit: 'grapheme', maxLength: 10 }),
    hostileText(2),
  );
  const weight = fc.constantFrom('', ':1', ':0.5', ':-4', ':4.01', ':abc', ':1:2', ':te=0.5:unet=1', ':1e9', ':NaN', ':');
  const call = fc.record({ before: hostileText(2), name, weight, tag: fc.constantFrom('lora', 'lyco', 'LORA') });
  return fc.array(call, { minLength: 1, maxLength: 7 }).map((calls) => calls.map(({ before, name: n, weight: w, tag }) => `${before}<${tag}:${n}${w}>`).join(' '));
}
