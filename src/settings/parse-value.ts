import type { Result } from '../refusal.js';
import { parseSamplerName } from '../pipeline/index.js';
import { escapeUnprintable } from '../shown-value.js';
import { SETTING_KEYS, type SettingInput, type SettingKey, type SettingSpec, type SettingValue } from './keys.js';

/** What a reader makes of a moderator's text: a candidate for the key's schema, or undefined when it can't read it. */
type Reader = (text: string) => unknown;

const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['on', true],
  ['yes', true],
  ['false', false],
  ['off', false],
  ['no', false],
]);

/** Decimal notation only: `Number()` alone would read "" as 0 and accept "0x10" or "1e3". */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const CHANNEL = /^(?:<#(\d+)>|(\d+))$/;

const READERS: { readonly [I in Exclude<SettingInput, 'sampler'>]: Reader } = {
  number: (text) => (NUMBER.test(text) ? Number(text) : undefined),
  text: (text) => (text.toLowerCase() === 'none' ? '' : text),
  choice: (text) => text.toLowerCase(),
  boolean: (text) => BOOLEAN_WORDS.get(text.toLowerCase()),
  words: (text) => {
    if (text.toLowerCase() === 'none') return [];
    const words = unique(text.split(',').map((word) => word.trim()).filter(Boolean));
    return words.length > 0 ? words : undefined;
  },
  channels: (text) => {
    if (['all', 'none'].includes(text.toLowerCase())) return [];
    const ids = text
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((entry) => CHANNEL.exec(entry))
      .map((match) => match?.[1] ?? match?.[2]);
    return ids.length > 0 && ids.every((id) => id !== undefined) ? unique(ids) : undefined;
  },
};

/**
 * The value `raw` (a moderator's text) stands for under `key`: numbers in decimal notation, booleans as
 * true/false, on/off or yes/no, lists comma-separated (`none` or, for channels, `all` for an empty list), channels
 * as mentions (`<#id>`) or ids, a sampler by any of its names (stored as its id). Otherwise a refusal that gives
 * the key's valid values.
 */
export function parseSettingValue(key: SettingKey, raw: string): Result<{ value: SettingValue }> {
  const spec: SettingSpec = SETTING_KEYS[key];
  const text = raw.trim();
  if (spec.input === 'sampler') return samplerValue(text);
  const parsed = spec.schema.safeParse(READERS[spec.input](text));
  if (parsed.success) return { ok: true, value: parsed.data as SettingValue };
  return { ok: false, code: 'INVALID_OPTION', message: `\`${key}\` must be ${spec.range}, got ${shown(text)}.` };
}

function samplerValue(text: string): Result<{ value: SettingValue }> {
  try {
    return { ok: true, value: parseSamplerName(text) };
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return { ok: false, code: 'INVALID_OPTION', message: `\`sampler\`: ${escapeUnprintable(error.message)}` };
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The moderator's text as the refusal quotes it: short, and in quotes unless it is one plain word. */
function shown(text: string): string {
  if (text === '') return 'nothing';
  if (/^[\w.:+-]{1,40}$/.test(text)) return text;
  // JSON escapes C0 controls but not C1 controls or invisible format characters.
  return escapeUnprintable(JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text));
}
