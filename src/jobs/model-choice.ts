// Which served model a request runs on — the one the member named, else the server's `/config model`, else the
// bot's default (its first) — and the generation defaults it starts from on that model.
import { servedModel, type ServedModel } from '../generator/generator.js';
import type { GuildSettings, SettingKey } from '../settings/keys.js';
import { Refused } from '../refusal.js';
import { shownValue as shown } from '../shown-value.js';
import { closeNames } from './close-names.js';

/** Names listed in a refusal before "…". */
const LISTED_MODELS = 20;

/**
 * The model `typed` names (case ignored), or with none given the server's default `serverDefault` ('' = the bot's).
 * @throws Refused `INVALID_OPTION` for a name the bot does not serve (with the close ones it may mean, and the list),
 *   and for a model that cannot be used now (its conversion failed), saying why.
 */
export function chooseModel(typed: unknown, serverDefault: string, models: readonly ServedModel[]): ServedModel {
  const given = typed === undefined || typed === null || typed === '' ? undefined : typed;
  if (given !== undefined && typeof given !== 'string') throw new Refused('INVALID_OPTION', '`model` must be text.');
  const model = given === undefined ? (servedModel(models, serverDefault || undefined) ?? servedModel(models, undefined)) : knownModel(given, models);
  if (!model) throw new Refused('INVALID_OPTION', 'This bot has no model to draw with.');
  if (model.broken !== undefined) {
    throw new Refused('INVALID_OPTION', `The model ${shown(model.name)} cannot be used: ${model.broken}. Pick another model.`);
  }
  return model;
}

/**
 * The served model called `name`.
 * @throws Refused `INVALID_OPTION` naming the close ones and the models there are.
 */
export function knownModel(name: string, models: readonly ServedModel[]): ServedModel {
  const model = servedModel(models, name);
  if (model) return model;
  const names = models.map((served) => served.name);
  const close = closeNames(name, names);
  const guess = close.length > 0 ? ` Did you mean ${close.slice(0, 3).join(' or ')}?` : '';
  const listed = `${names.slice(0, LISTED_MODELS).join(', ')}${names.length > LISTED_MODELS ? ', …' : ''}`;
  throw new Refused('INVALID_OPTION', `There is no model called ${shown(name)}; there are: ${listed}.${guess}`);
}

/** The generation defaults a model may have of its own. */
type ModelDefaultKey = 'steps' | 'cfg' | 'sampler' | 'aspect';

/** The families with their own `/config` keys (`sd1.steps`, `sdxl.cfg`, …); SD 2.x models use the plain ones. */
const FAMILY_KEYS = {
  sd1: { steps: 'sd1.steps', cfg: 'sd1.cfg', sampler: 'sd1.sampler' },
  sdxl: { steps: 'sdxl.steps', cfg: 'sdxl.cfg', sampler: 'sdxl.sampler' },
} as const satisfies Partial<Record<ServedModel['family'], Partial<Record<ModelDefaultKey, SettingKey>>>>;

/**
 * `settings` with the defaults a request on `model` starts from (`steps`, `cfg`, `sampler`, `aspect`), most
 * specific first: what the server set for the model's family (`sdxl.steps`), what the server set for every model
 * (`steps`), the model's sidecar, the product's default for the family (`generation.families` of
 * `config/default.json`, the default of `sdxl.steps`), the product's default. A default over `maxSteps` is used at it.
 */
export function settingsOn(model: ServedModel, settings: GuildSettings, overridden: ReadonlySet<SettingKey>): GuildSettings {
  const familyKeys: Partial<Record<ModelDefaultKey, SettingKey>> = model.family in FAMILY_KEYS ? FAMILY_KEYS[model.family as keyof typeof FAMILY_KEYS] : {};
  const pick = <K extends ModelDefaultKey>(key: K): GuildSettings[K] => {
    const familyKey = familyKeys[key];
    if (familyKey !== undefined && overridden.has(familyKey)) return settings[familyKey] as GuildSettings[K];
    if (overridden.has(key)) return settings[key];
    const own = model.defaults?.[key];
    if (own !== undefined) return own as GuildSettings[K];
    return (familyKey === undefined ? settings[key] : settings[familyKey]) as GuildSettings[K];
  };
  return { ...settings, steps: Math.min(pick('steps'), settings.maxSteps), cfg: pick('cfg'), sampler: pick('sampler'), aspect: pick('aspect') };
}
