import type { Result } from '../refusal.js';
import { parseSettingKey } from './find-key.js';
import { SETTING_KEY_NAMES, SETTING_KEYS, type SettingGroup, type SettingKey, type SettingValue } from './keys.js';
import { parseSettingValue } from './parse-value.js';
import { capDefaults, cappedDefaults, orderConflict } from './rules.js';
import type { AuditEntry, SettingOverrides, SettingsStore } from './settings-store.js';
import { HISTORY_LIMIT } from './settings-store.js';

/** The moderator making a change, as the audit log names them. */
export interface Moderator {
  readonly userId: string;
  readonly userName: string;
}

/** One line of `/config show`. */
export interface SettingRow {
  readonly key: SettingKey;
  readonly group: SettingGroup;
  readonly description: string;
  /** The value in force. */
  readonly value: SettingValue;
  /** Whether the value is the product default or this server's own. */
  readonly source: 'default' | 'set';
  /** The limit that caps this default, when the configured default is over it (`value` is then the limit's). */
  readonly cappedBy?: SettingKey;
}

/** What `/config show` displays: every setting in registry order, and the revision it was read at. */
export interface SettingsOverview {
  readonly revision: number;
  readonly rows: readonly SettingRow[];
}

/**
 * The moderators' use cases for per-server settings: show, set, reset and history. Values are parsed from the text
 * a moderator typed and checked per key and across keys; every change bumps the revision and is audited.
 */
export class SettingsService {
  readonly #store: SettingsStore;
  readonly #now: () => Date;

  constructor(store: SettingsStore, now: () => Date = () => new Date()) {
    this.#store = store;
    this.#now = now;
  }

  /**
   * Sets `keyName` to the value `rawValue` stands for (see `parseSettingValue`). Refused for an unknown key, a
   * value outside the key's range, or one that breaks an order rule (`minStrength` ≤ `maxStrength`, `steps` ≤
   * `maxSteps`). Lowering `maxSteps` below the default `steps` is allowed: `notice` then says the default is capped.
   */
  async set(
    guildId: string,
    keyName: string,
    rawValue: string,
    by: Moderator,
  ): Promise<Result<{ change: AuditEntry; revision: number; notice?: string }>> {
    const found = parseSettingKey(keyName);
    if (!found.ok) return found;
    const { key } = found;
    const parsed = parseSettingValue(key, rawValue);
    if (!parsed.ok) return parsed;
    const saved = await this.#store.update(guildId, (current) => {
      const values = withValue(current.values, key, parsed.value);
      const conflict = orderConflict(this.#store.configured(values), new Set([key]), 'set');
      if (conflict !== undefined) return { ok: false, code: 'INVALID_OPTION', message: conflict };
      const old = this.#store.configured(current.values)[key];
      return { ok: true, values, entries: [this.#entry(by, key, 'set', old, parsed.value)] };
    });
    if (!saved.ok) return saved;
    const [change] = saved.entries;
    if (change === undefined) throw new Error(`Setting \`${key}\` in server ${guildId} was not recorded.`);
    const settings = this.#store.configured(saved.record.values);
    const capped = cappedDefaults(settings).find(({ by: limit }) => limit === key);
    const notice = capped && `The default \`${capped.key}\` ${settings[capped.key]} is over it, so ${settings[capped.by]} is used instead.`;
    return { ok: true, change, revision: saved.record.revision, notice };
  }

  /**
   * Puts `keyName` (or, when undefined, every key this server set) back to the product default. A key already at
   * its default is no change: `changes` is then empty and the revision stays. Refused for an unknown key, or when
   * the default would break an order rule with a value this server set.
   * @returns the changes made, the revision after them, and the key named (undefined for all).
   */
  async reset(
    guildId: string,
    keyName: string | undefined,
    by: Moderator,
  ): Promise<Result<{ changes: readonly AuditEntry[]; revision: number; key: SettingKey | undefined }>> {
    const found = keyName === undefined ? undefined : parseSettingKey(keyName);
    if (found && !found.ok) return found;
    const saved = await this.#store.update(guildId, (current) => {
      const keys = SETTING_KEY_NAMES.filter((key) => key in current.values && (!found || key === found.key));
      const values = withoutKeys(current.values, keys);
      const [before, after] = [this.#store.configured(current.values), this.#store.configured(values)];
      const conflict = orderConflict(after, new Set(keys), 'reset');
      if (conflict !== undefined) return { ok: false, code: 'INVALID_OPTION', message: conflict };
      return { ok: true, values, entries: keys.map((key) => this.#entry(by, key, 'reset', before[key], after[key])) };
    });
    if (!saved.ok) return saved;
    return { ok: true, changes: saved.entries, revision: saved.record.revision, key: found?.key };
  }

  /** The last `limit` changes in `guildId`, newest first. Minimum: 1; at most {@link HISTORY_LIMIT} are kept. */
  async history(guildId: string, limit = 10): Promise<readonly AuditEntry[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Expected \`limit\` to be a whole number from 1, got ${limit}.`);
    const { history } = await this.#store.record(guildId);
    return history.slice(-Math.min(limit, HISTORY_LIMIT)).reverse();
  }

  /** Every setting in force in `guildId`, marked as the default or the server's own. */
  async show(guildId: string): Promise<SettingsOverview> {
    const record = await this.#store.record(guildId);
    const configured = this.#store.configured(record.values);
    const inForce = capDefaults(configured);
    const capped = new Map<SettingKey, SettingKey>(cappedDefaults(configured).map(({ key, by }) => [key, by]));
    const rows = SETTING_KEY_NAMES.map((key) => ({
      key,
      group: SETTING_KEYS[key].group,
      description: SETTING_KEYS[key].describe,
      value: inForce[key],
      source: key in record.values ? ('set' as const) : ('default' as const),
      cappedBy: capped.get(key),
    }));
    return { revision: record.revision, rows };
  }

  #entry(by: Moderator, key: SettingKey, action: AuditEntry['action'], old: SettingValue, value: SettingValue): AuditEntry {
    return { at: this.#now().getTime(), userId: by.userId, userName: by.userName, key, action, old, new: value };
  }
}

/** `values` with `key` set to `value`. The store checks the result against each key's schema before writing. */
function withValue(values: SettingOverrides, key: SettingKey, value: SettingValue): SettingOverrides {
  return { ...values, [key]: value };
}

function withoutKeys(values: SettingOverrides, keys: readonly SettingKey[]): SettingOverrides {
  return Object.fromEntries(Object.entries(values).filter(([key]) => !keys.includes(key as SettingKey)));
}
