/** The longest prompt (or negative prompt) accepted, in characters, after clean-up. */
export const MAX_PROMPT_CHARS = 1500;

/**
 * The most `BREAK`s a prompt may use. Each starts another 75-token chunk, and every chunk is encoded and attended
 * to at every step: 250 of them fit in 1500 characters and make each step dozens of times slower.
 */
export const MAX_BREAKS = 16;

// Invisible characters only confuse the tokenizer and hide words from the blocked-word check: format controls
// (zero-width, bidi, soft hyphen, Unicode tags), lone surrogate halves, and characters that render as blanks
// (Hangul fillers, the braille blank, Mongolian and Khmer invisibles, the combining grapheme joiner).
const INVISIBLE = /[\p{Cf}\p{Cs}\u115F\u1160\u2800\u3164\uFFA0]|\u034F|\u17B4|\u17B5|[\u180B-\u180F]/gu;
// Control characters other than tab and newline (which the tokenizer treats as spaces), and the Unicode line and
// paragraph separators, which would come back to the member as raw separators in the result's embed.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029]/g;
// A1111's BREAK: the word on its own, not part of another word.
const BREAK = /(?<![\p{L}\p{N}_])BREAK(?![\p{L}\p{N}_])/gu;

/** A prompt with invisible and control characters removed and surrounding whitespace trimmed. */
export function cleanPrompt(text: string): string {
  return text.replace(INVISIBLE, '').replace(CONTROL, ' ').trim();
}

/** How many times `prompt` says `BREAK`. */
export function countBreaks(prompt: string): number {
  return prompt.match(BREAK)?.length ?? 0;
}

/**
 * The first blocked word `prompt` contains (whole words, case-insensitive), if any. Compatibility forms count as
 * their plain letters (full-width "ｓｐｉｄｅｒ" is "spider").
 */
export function findBlockedWord(prompt: string, blockedWords: readonly string[]): string | undefined {
  const text = prompt.normalize('NFKC').toLowerCase();
  const words = new Set(text.split(/[^\p{L}\p{N}]+/u).filter(Boolean));
  return blockedWords.find((word) => {
    const lower = word.normalize('NFKC').toLowerCase();
    // Multi-word entries match as phrases, single words as whole words.
    return /[^\p{L}\p{N}]/u.test(lower) ? text.includes(lower) : words.has(lower);
  });
}
