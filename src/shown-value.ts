/** Longest part of a member's value quoted back in a refusal. */
const SHOWN_CHARS = 40;

// Characters a member cannot see or that upset a Discord message: controls, format characters (zero-width, bidi),
// lone surrogate halves, private-use and unassigned code points, line and paragraph separators.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

/**
 * A member's value as a refusal quotes it: short (40 characters and "…"), never "[object Object]", and with every
 * unprintable character written as its escape (`42\u0000`), so what the member sent is shown, not acted out.
 */
export function shownValue(value: unknown): string {
  const text = typeof value === 'string' ? value : typeof value === 'object' && value !== null ? (safeJson(value) ?? typeof value) : String(value);
  return escapeUnprintable(text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}…` : text);
}

/** `text` with every unprintable character written as its escape, e.g. `\u0085`. */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/** JSON of an object, or undefined for what JSON cannot write (cycles, bigints). */
function safeJson(value: object): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
