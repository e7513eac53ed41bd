import { z } from 'zod';
import type { ProductDefaults } from '../config/index.js';
import type { Result } from '../refusal.js';
import type { Collection, Store } from '../store/index.js';
import { capDefaults } from './rules.js';
import { defaultSettings, SETTING_KEY_NAMES, SETTING_KEYS, type GuildSettings, type SettingKey } from './keys.js';

/** How many changes each server's record keeps for `/config history`; older ones are dropped. */
export const HISTORY_LIMIT = 100;

/** A change is planned on a fresh read this many times when another writer keeps getting in first. */
const MAX_ATTEMPTS = 3;

const overridesSchema = z.object(
  Object.fromEntries(Object.entries(SETTING_KEYS).map(([key, { schema }]) => [key, schema.optional()])) as {
    [K in SettingKey]: z.ZodOptional<(typeof SETTING_KEYS)[K]['schema']>;
  },
);
/** The keys a server set itself, with their values. */
export type SettingOverrides = z.infer<typeof overridesSchema>;

const settingValueSchema = z.union([z.number(), z.string(), z.boolean(), z.array(z.string())]);

/** One change to one setting: when (milliseconds since the epoch), by whom, and the value before and after. */
const auditEntrySchema = z.object({
  at: z.number().int(),
  userId: z.string(),
  userName: z.string(),
  key: z.enum(SETTING_KEY_NAMES),
  action: z.enum(['set', 'reset']),
  old: settingValueSchema,
  new: settingValueSchema,
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/**
 * One server's stored settings: only the keys its moderators set, a revision bumped on every change, and the last
 * {@link HISTORY_LIMIT} changes. The audit log lives in the record so that a change and its entry are one write.
 */
const guildRecordSchema = z.object({
  revision: z.number().int().min(0),
  values: overridesSchema,
  history: z.array(auditEntrySchema).max(HISTORY_LIMIT),
});
export type GuildSettingsRecord = z.infer<typeof guildRecordSchema>;

const EMPTY_RECORD: GuildSettingsRecord = Object.freeze({ revision: 0, values: {}, history: [] });

/** The settings in force in one server, and which of them the server set itself. */
export interface EffectiveSettings {
  readonly settings: GuildSettings;
  readonly overridden: ReadonlySet<SettingKey>;
  readonly revision: number;
}

/** A planned change: the new values and the audit entries that explain them, or why it is refused. */
export type PlannedChange = Result<{ values: SettingOverrides; entries: readonly AuditEntry[] }>;
/** Plans a change from the current record; it may be planned again on a fresh read (see {@link SettingsStore}). */
export type SettingsPlan = (current: GuildSettingsRecord) => PlannedChange | Promise<PlannedChange>;
/** A change as saved: the record as written, and the entries added. */
export type SavedChange = Result<{ record: GuildSettingsRecord; entries: readonly AuditEntry[] }>;

/**
 * Per-server settings over the store: global defaults from `config/default.json` overlaid by each server's values,
 * versioned and audited.
 *
 * Changes to one server run one after another in this process (a promise chain per server), so two moderators
 * changing settings at once both land. Before writing, the revision is read again and the change re-planned if
 * another process got in first; keyv has no compare-and-set, so that only narrows the window between processes.
 */
export class SettingsStore {
  readonly #records: Collection<GuildSettingsRecord>;
  readonly #defaults: GuildSettings;
  readonly #chains = new Map<string, Promise<unknown>>();

  private constructor(records: Collection<GuildSettingsRecord>, defaults: GuildSettings) {
    this.#records = records;
    this.#defaults = defaults;
  }

  static async open(store: Store, defaults: ProductDefaults): Promise<SettingsStore> {
    const records = await store.collection('guild-settings', { schema: guildRecordSchema, version: 1 });
    return new SettingsStore(records, defaultSettings(defaults));
  }

  /** The product defaults, as every server starts. */
  get defaults(): GuildSettings {
    return this.#defaults;
  }

  /**
   * The settings in force in `guildId` (the defaults outside servers, e.g. in direct messages). A default over the
   * limit that caps it (`steps` over `maxSteps`) is given at the limit; see `rules.ts`.
   */
  async effective(guildId: string | null): Promise<EffectiveSettings> {
    const record = guildId ? await this.record(guildId) : EMPTY_RECORD;
    return {
      settings: capDefaults(this.configured(record.values)),
      overridden: new Set(Object.keys(record.values) as SettingKey[]),
      revision: record.revision,
    };
  }

  /** The defaults overlaid by `values`, as configured (defaults not capped by their limits). */
  configured(values: SettingOverrides): GuildSettings {
    return Object.freeze({ ...this.#defaults, ...values });
  }

  /** The stored record of `guildId` (an empty one at revision 0 when the server never set anything). */
  async record(guildId: string): Promise<GuildSettingsRecord> {
    return (await this.#records.get(guildId)) ?? EMPTY_RECORD;
  }

  /**
   * Applies the change `plan` makes to `guildId`'s record: bumps the revision and appends its audit entries. A
   * refusal from `plan` is returned as is; a plan without entries changes nothing and writes nothing.
   */
  update(guildId: string, plan: SettingsPlan): Promise<SavedChange> {
    const run = (this.#chains.get(guildId) ?? Promise.resolve()).then(() => this.#apply(guildId, plan));
    // A failed change must not stop the next one; its caller still sees the failure through `run`.
    const tail = run.catch(() => undefined);
    this.#chains.set(guildId, tail);
    void tail.then(() => {
      if (this.#chains.get(guildId) === tail) this.#chains.delete(guildId);
    });
    return run;
  }

  async #apply(guildId: string, plan: SettingsPlan): Promise<SavedChange> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const current = await this.record(guildId);
      const planned = await plan(current);
      if (!planned.ok) return planned;
      if (planned.entries.length === 0) return { ok: true, record: current, entries: [] };
      if ((await this.record(guildId)).revision !== current.revision) continue;
      const record: GuildSettingsRecord = {
        revision: current.revision + 1,
        values: planned.values,
        history: [...current.history, ...planned.entries].slice(-HISTORY_LIMIT),
      };
      await this.#records.set(guildId, record);
      return { ok: true, record, entries: planned.entries };
    }
    throw new Error(
      `The settings of server ${guildId} changed during each of ${MAX_ATTEMPTS} attempts to save a change; ` +
        'is another dreamcord process writing the same store?',
    );
  }
}
