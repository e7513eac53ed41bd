// Python's regular-expression classes for the A1111 prompt parsers, which run Python's `re` on str patterns:
// `\s` is Python's whitespace (str.isspace: U+001C–U+001F and U+0085 yes, U+FEFF no, unlike JavaScript's `\s`),
// `\d` any Unicode decimal digit (JavaScript's is ASCII-only even with the `u` flag), and `float()` reads such
// digits too (`float("１.５")` is 1.5).

/** Python's `\s` as a character class body (use in a `u` regular expression). */
export const PY_SPACE = String.raw`\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;

/** Python's `\d` as a character class body (use in a `u` regular expression). */
export const PY_DIGIT = String.raw`\p{Nd}`;

const DECIMAL_DIGIT = /\p{Nd}/u;

/**
 * The ASCII digit of a Unicode decimal digit. Unicode encodes every decimal digit set as ten contiguous code
 * points from 0 to 9, and adjacent sets follow each other whole, so the digit is the offset from the start of the
 * run of decimal digits, modulo 10.
 */
function asciiDigit(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  let start = code;
  while (start > 0 && DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return String((code - start) % 10);
}

/** Python's `float(text)` for the numbers these patterns match (Unicode digits allowed); NaN when it would raise. */
export function pythonFloat(text: string): number {
  const ascii = text.trim().replace(/\p{Nd}/gu, (digit) => (/[0-9]/.test(digit) ? digit : asciiDigit(digit)));
  return /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(ascii) ? Number(ascii) : NaN;
}
