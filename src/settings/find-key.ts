import type { Result } from '../refusal.js';
import { escapeUnprintable } from '../shown-value.js';
import { SETTING_KEY_NAMES, SETTING_KEYS, type SettingKey } from './keys.js';

/** The setting a moderator named, ignoring case ("maxsteps" is `maxSteps`), or a refusal listing the valid keys. */
export function parseSettingKey(name: string): Result<{ key: SettingKey }> {
  const wanted = name.trim().toLowerCase();
  const key = SETTING_KEY_NAMES.find((candidate) => candidate.toLowerCase() === wanted);
  if (key !== undefined) return { ok: true, key };
  return {
    ok: false,
    code: 'INVALID_OPTION',
    // Quoted as JSON, with what JSON leaves as it is (U+0085, bidi and zero-width characters) escaped too.
    message: `Unknown setting ${escapeUnprintable(JSON.stringify(name.trim().slice(0, 40)))}. Valid settings: ${SETTING_KEY_NAMES.join(', ')}.`,
  };
}

/**
 * The keys matching what a moderator has typed so far, for autocomplete: keys that start with `query` first, then
 * keys containing it, then keys whose description contains it (case-insensitively); at most `limit`.
 */
export function suggestSettingKeys(query: string, limit = 25): readonly SettingKey[] {
  const q = query.trim().toLowerCase();
  const rank = (key: SettingKey): number => {
    const name = key.toLowerCase();
    if (name.startsWith(q)) return 0;
    if (name.includes(q)) return 1;
    return SETTING_KEYS[key].describe.toLowerCase().includes(q) ? 2 : 3;
  };
  return SETTING_KEY_NAMES.map((key) => ({ key, rank: rank(key) }))
    .filter(({ rank }) => rank < 3)
    .sort((a, b) => a.rank - b.rank)
    .slice(0, limit)
    .map(({ key }) => key);
}
