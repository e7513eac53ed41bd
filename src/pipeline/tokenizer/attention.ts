// A port of A1111's `parse_prompt_attention` (modules/prompt_parser.py, v1.10): the same token regex, the same
// bracket stacks, the same float multiplications in the same order, so that every weight is bit-identical to
// A1111's before it is stored as float32.

import { PY_DIGIT, PY_SPACE, pythonFloat } from './python-regex.js';

/** A run of prompt text whose tokens share one weight, or a `BREAK` (start a new 75-token chunk). */
export type AttentionPart =
  | { readonly kind: 'text'; readonly text: string; readonly weight: number }
  | { readonly kind: 'break' };

/** The parsed prompt and sentences about what was ignored (for the user). */
export interface ParsedAttention {
  readonly parts: AttentionPart[];
  readonly notices: string[];
}

/** `(text)` multiplies by this; `[text]` by its inverse. */
const ROUND_MULTIPLIER = 1.1;
const SQUARE_MULTIPLIER = 1 / 1.1;

/**
 * A1111's `re_attention`: escapes, a lone backslash, brackets, an explicit weight closing a round bracket,
 * closing brackets, plain text, a lone colon. Every character belongs to exactly one match. `\s` and `\d` are
 * Python's (python-regex.ts).
 */
const ATTENTION_TOKEN = new RegExp(
  String.raw`\\\(|\\\)|\\\[|\\\]|\\\\|\\|\(|\[|:[${PY_SPACE}]*([+-]?[.${PY_DIGIT}]+)[${PY_SPACE}]*\)|\)|\]|[^\\()[\]:]+|:`,
  'gu',
);

/**
 * A1111's `re_break` (`\s*\bBREAK\b\s*`). Python's `\b` is Unicode-aware, JavaScript's is ASCII-only, hence the
 * explicit look-arounds on word characters (letters, digits, underscore); `\s` is Python's.
 */
const BREAK = new RegExp(String.raw`[${PY_SPACE}]*(?<![\p{L}\p{N}_])BREAK(?![\p{L}\p{N}_])[${PY_SPACE}]*`, 'u');

/** A mutable text part while brackets are still open. */
interface OpenPart {
  text: string;
  weight: number;
  readonly isBreak: boolean;
}

/**
 * Splits an A1111 prompt into runs of equal weight: `(x)` ×1.1 (nesting compounds: `((x))` = 1.1·1.1),
 * `(x:1.3)` ×1.3, `[x]` ×(1/1.1); `\( \) \[ \] \\` are literal; brackets left open close at the end; a
 * closing bracket with nothing open is literal text. Adjacent runs of identical weight merge (so
 * `(a)(b)` is the one word `ab`, as in A1111).
 *
 * One deliberate difference: A1111 marks `BREAK` with the weight −1, so inside brackets it gets multiplied and
 * is then encoded as the word "break" with a negative weight. Here `BREAK` is a marker no bracket touches and
 * always starts a new chunk.
 */
export function parsePromptAttention(text: string): ParsedAttention {
  const parts: OpenPart[] = [];
  const notices: string[] = [];
  const round: number[] = [];
  const square: number[] = [];
  const multiplyFrom = (start: number, multiplier: number): void => {
    for (let p = start; p < parts.length; p += 1) {
      const part = parts[p] as OpenPart;
      if (!part.isBreak) part.weight *= multiplier;
    }
  };

  for (const match of text.matchAll(ATTENTION_TOKEN)) {
    const token = match[0];
    const weight = match[1];
    if (token.startsWith('\\')) {
      parts.push({ text: token.slice(1), weight: 1, isBreak: false });
    } else if (token === '(') {
      round.push(parts.length);
    } else if (token === '[') {
      square.push(parts.length);
    } else if (weight !== undefined && round.length > 0) {
      multiplyFrom(round.pop() as number, explicitWeight(weight, notices));
    } else if (token === ')' && round.length > 0) {
      multiplyFrom(round.pop() as number, ROUND_MULTIPLIER);
    } else if (token === ']' && square.length > 0) {
      multiplyFrom(square.pop() as number, SQUARE_MULTIPLIER);
    } else {
      token.split(BREAK).forEach((piece, index) => {
        if (index > 0) parts.push({ text: '', weight: 1, isBreak: true });
        parts.push({ text: piece, weight: 1, isBreak: false });
      });
    }
  }
  for (const start of round) multiplyFrom(start, ROUND_MULTIPLIER);
  for (const start of square) multiplyFrom(start, SQUARE_MULTIPLIER);
  return { parts: mergeEqualWeights(parts), notices };
}

/**
 * The number of `(x:1.3)`, read as Python's `float()` reads it (`(x:１.５)` is 1.5). `float()` would raise on
 * `1.2.3` or `.`, failing the whole generation in A1111; here the bracket closes with no effect and the user is
 * told.
 */
function explicitWeight(written: string, notices: string[]): number {
  const value = pythonFloat(written);
  if (Number.isFinite(value)) return value;
  notices.push(`Ignored the weight ":${written}", which is not a number.`);
  return 1;
}

/** Joins neighbouring text runs whose weights are exactly equal; `BREAK` markers separate runs. */
function mergeEqualWeights(parts: readonly OpenPart[]): AttentionPart[] {
  const merged: AttentionPart[] = [];
  for (const part of parts) {
    const last = merged.at(-1);
    if (part.isBreak) {
      merged.push({ kind: 'break' });
    } else if (last?.kind === 'text' && last.weight === part.weight) {
      merged[merged.length - 1] = { kind: 'text', text: last.text + part.text, weight: last.weight };
    } else {
      merged.push({ kind: 'text', text: part.text, weight: part.weight });
    }
  }
  return merged;
}
