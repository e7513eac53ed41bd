import { numberRange, SETTING_KEYS, type GuildSettings, type NumberKey, type SettingKey } from './keys.js';

/**
 * Two settings that must stay in order, `low` ≤ `high`. `lowering` says what happens when `high` goes below `low`:
 * the change is refused, or `low` is capped — used at `high`'s value until one of them changes.
 */
interface OrderRule {
  readonly low: NumberKey;
  readonly high: NumberKey;
  readonly lowering: 'refuse' | 'cap';
}

const ORDER_RULES: readonly OrderRule[] = [
  { low: 'minStrength', high: 'maxStrength', lowering: 'refuse' },
  // A moderator tightening maxSteps should not also have to lower the default steps: the default follows the limit.
  // Setting steps itself above maxSteps is still refused, as that can only be a mistake.
  { low: 'steps', high: 'maxSteps', lowering: 'cap' },
  { low: 'sd1.steps', high: 'maxSteps', lowering: 'cap' },
  { low: 'sdxl.steps', high: 'maxSteps', lowering: 'cap' },
];

/** A default that a limit caps: `key` is configured above `by` and is used at `by`'s value. */
export interface CappedDefault {
  readonly key: NumberKey;
  readonly by: NumberKey;
}

/** The defaults that their limits cap in `settings`. */
export function cappedDefaults(settings: GuildSettings): readonly CappedDefault[] {
  return ORDER_RULES.filter((rule) => rule.lowering === 'cap' && settings[rule.low] > settings[rule.high]).map(
    (rule) => ({ key: rule.low, by: rule.high }),
  );
}

/** The settings as they are used: each capped default at its limit. */
export function capDefaults(settings: GuildSettings): GuildSettings {
  const capped = cappedDefaults(settings);
  if (capped.length === 0) return settings;
  return Object.freeze({ ...settings, ...Object.fromEntries(capped.map(({ key, by }) => [key, settings[by]])) });
}

/**
 * Why the configured `settings`, after `action` changed the `changed` keys, break an order rule: a sentence giving
 * the valid range of the changed key. Undefined when they keep every rule (a capped default is not a conflict,
 * unless the moderator set that default itself).
 */
export function orderConflict(
  settings: GuildSettings,
  changed: ReadonlySet<SettingKey>,
  action: 'set' | 'reset',
): string | undefined {
  const got = (value: number) => `got ${value}${action === 'reset' ? ' (its default)' : ''}`;
  for (const { low, high, lowering } of ORDER_RULES) {
    const [lowValue, highValue] = [settings[low], settings[high]];
    if (lowValue <= highValue) continue;
    if (changed.has(low) && (lowering === 'refuse' || action === 'set')) {
      const range = numberRange(SETTING_KEYS[low].bounds[0], highValue, SETTING_KEYS[low].integer);
      return `\`${low}\` must be ${range} while \`${high}\` is ${highValue}, ${got(lowValue)}.`;
    }
    if (changed.has(high) && lowering === 'refuse') {
      const range = numberRange(lowValue, SETTING_KEYS[high].bounds[1], SETTING_KEYS[high].integer);
      return `\`${high}\` must be ${range} while \`${low}\` is ${lowValue}, ${got(highValue)}.`;
    }
  }
  return undefined;
}
