/** The longest prompt (or negative prompt) accepted, in characters, after clean-up. */
export const MAX_PROMPT_CHARS = 1500;

// Zero-width and bidi-control characters are invisible in Discord and only confuse the tokenizer.
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;
// Control characters other than tab and newline (which the tokenizer treats as spaces).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

/** A prompt with invisible and control characters removed and surrounding whitespace trimmed. */
export function cleanPrompt(text: string): string {
  return text.replace(INVISIBLE, '').replace(CONTROL, ' ').trim();
}

/** The first blocked word `prompt` contains (whole words, case-insensitive), if any. */
export function findBlockedWord(prompt: string, blockedWords: readonly string[]): string | undefined {
  const words = new Set(prompt.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean));
  const text = prompt.toLowerCase();
  return blockedWords.find((word) => {
    const lower = word.toLowerCase();
    // Multi-word entries match as phrases, single words as whole words.
    return /[^\p{L}\p{N}]/u.test(lower) ? text.includes(lower) : words.has(lower);
  });
}
