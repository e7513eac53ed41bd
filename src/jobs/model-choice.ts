// Which served model a request runs on: the one the member named, else the server's `/config model`, else the
// bot's default (its first).
import { servedModel, type ServedModel } from '../generator/generator.js';
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
