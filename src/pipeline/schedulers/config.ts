import type { SchedulerConfig } from './types.js';

/**
 * One constructor argument of a diffusers scheduler class: its default and how a JSON value for it is
 * checked. Build fields with {@link numberField}, {@link integerField}, {@link booleanField},
 * {@link choiceField} and {@link fixedField}.
 */
export interface ConfigField<T> {
  readonly default: T;
  /** Returns `value` typed, or throws naming `where` (e.g. "`beta_start` of EulerDiscreteScheduler"). */
  read(value: unknown, where: string): T;
}

/** The typed config a field table reads to. */
export type ConfigOf<F> = { readonly [K in keyof F]: F[K] extends ConfigField<infer T> ? T : never };

/** Inclusive bounds of a numeric field. */
export interface NumberLimits {
  readonly min?: number;
  readonly max?: number;
}

/**
 * Reads `config` the way diffusers' `from_config` does: each key of `fields` takes the config's value when
 * present and the class default otherwise; keys the class does not accept (other classes' keys, `_class_name`)
 * are ignored. Throws on a value of the wrong type or out of range.
 *
 * @param className - the diffusers class name, for error messages.
 * @example
 * const FIELDS = { num_train_timesteps: integerField(1000, { min: 1 }), use_karras_sigmas: booleanField(false) };
 * const config = readConfig('EulerDiscreteScheduler', FIELDS, modelConfig); // config.use_karras_sigmas: boolean
 */
export function readConfig<F extends Readonly<Record<string, ConfigField<unknown>>>>(
  className: string,
  fields: F,
  config: SchedulerConfig,
): ConfigOf<F> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(fields)) {
    out[key] = Object.hasOwn(config, key)
      ? field.read(config[key], `\`${key}\` of ${className}`)
      : field.default;
  }
  return Object.freeze(out) as ConfigOf<F>;
}

/** A float field; a `null` default makes it nullable (diffusers' `Optional[float] = None`). */
export function numberField(defaultValue: number, limits?: NumberLimits): ConfigField<number>;
export function numberField(defaultValue: null, limits?: NumberLimits): ConfigField<number | null>;
export function numberField(defaultValue: number | null, limits: NumberLimits = {}): ConfigField<number | null> {
  return numeric(defaultValue, limits, false);
}

/** An integer field; a `null` default makes it nullable (diffusers' `Optional[int] = None`). */
export function integerField(defaultValue: number, limits?: NumberLimits): ConfigField<number>;
export function integerField(defaultValue: null, limits?: NumberLimits): ConfigField<number | null>;
export function integerField(defaultValue: number | null, limits: NumberLimits = {}): ConfigField<number | null> {
  return numeric(defaultValue, limits, true);
}

function numeric(defaultValue: number | null, limits: NumberLimits, integer: boolean): ConfigField<number | null> {
  const kind = integer ? 'an integer' : 'a finite number';
  const nullable = defaultValue === null;
  return {
    default: defaultValue,
    read(value, where) {
      if (value === null && nullable) return null;
      const isNumber = typeof value === 'number' && Number.isFinite(value);
      if (!isNumber || (integer && !Number.isInteger(value))) {
        throw new Error(`Expected ${where} to be ${kind}${nullable ? ' or null' : ''}, got ${describe(value)}`);
      }
      const { min = -Infinity, max = Infinity } = limits;
      if (value < min || value > max) {
        throw new Error(`Expected ${where} to be ${formatRange(min, max)}, got ${value}`);
      }
      return value;
    },
  };
}

/** A boolean field. */
export function booleanField(defaultValue: boolean): ConfigField<boolean> {
  return {
    default: defaultValue,
    read(value, where) {
      if (typeof value !== 'boolean') throw new Error(`Expected ${where} to be a boolean, got ${describe(value)}`);
      return value;
    },
  };
}

/** A string field limited to `choices`; a `null` default makes it nullable (`Optional[str] = None`). */
export function choiceField<const C extends readonly string[]>(defaultValue: C[number], choices: C): ConfigField<C[number]>;
export function choiceField<const C extends readonly string[]>(
  defaultValue: null,
  choices: C,
): ConfigField<C[number] | null>;
export function choiceField<const C extends readonly string[]>(
  defaultValue: C[number] | null,
  choices: C,
): ConfigField<C[number] | null> {
  return {
    default: defaultValue,
    read(value, where) {
      if (value === null && defaultValue === null) return null;
      if (typeof value !== 'string' || !choices.includes(value)) {
        const allowed = choices.map((c) => JSON.stringify(c)).join(', ');
        throw new Error(
          `Expected ${where} to be one of ${allowed}${defaultValue === null ? ', null' : ''}, got ${describe(value)}`,
        );
      }
      return value;
    },
  };
}

/**
 * A diffusers option dreamcord does not implement: only its default (the value SD models ship with) is
 * accepted, so that a config asking for more fails loudly instead of sampling differently.
 */
export function fixedField<const T extends string | number | boolean | null>(value: T): ConfigField<T> {
  return {
    default: value,
    read(given, where) {
      if (given !== value) {
        const expected = JSON.stringify(value);
        throw new Error(`Expected ${where} to be ${expected} (the only value supported), got ${describe(given)}`);
      }
      return value;
    },
  };
}

function formatRange(min: number, max: number): string {
  if (max === Infinity) return `at least ${min}`;
  if (min === -Infinity) return `at most ${max}`;
  return `in ${min}–${max}`;
}

/** A value for an error message: its JSON and, for non-null values, its type. */
function describe(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  const shown = json.length > 60 ? `${json.slice(0, 57)}...` : json;
  return value === null ? 'null' : `${shown} (${Array.isArray(value) ? 'array' : typeof value})`;
}
