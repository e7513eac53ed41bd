// Slash-command payloads generated from the definitions the bot registers (the same objects), plus the hostile
// variants a modified client can send: wrong types, values out of range, unknown, missing and repeated options,
// unknown subcommands.
import fc from 'fast-check';
import { ApplicationCommandOptionType as Type, type APIApplicationCommandOption, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { GenerationRequest } from '../../src/generator/request.js';
import { SAMPLER_CHOICES } from '../../src/pipeline/schedulers/names.js';
import { SETTING_KEY_NAMES } from '../../src/settings/keys.js';
import { hostileOrLongText, hostileText } from './hostile-text.js';
import { a1111Block, everyKeyMalformed } from './a1111-blocks.js';
import { ODD_PICTURE_KINDS } from './odd-pictures.js';

type Definition = APIApplicationCommandOption;
type CommandData = RESTPostAPIChatInputApplicationCommandsJSONBody;

/** The uploads a member attaches; the interaction fuzz turns each into a file on the fake's CDN. */
export const UPLOAD_KINDS = ['valid', 'transparent', 'lying-type', 'truncated', 'huge-declared', 'animated', 'not-an-image', ...ODD_PICTURE_KINDS] as const;
export interface UploadMarker {
  readonly upload: (typeof UPLOAD_KINDS)[number];
}

/** One entry of `data.options`, with uploads still as markers. */
export interface GeneratedOption {
  readonly name: string;
  readonly type: number;
  readonly value?: unknown;
  readonly options?: readonly GeneratedOption[];
}

/** Likely values for options whose definition says only "text". */
const TEXT_HINTS: Readonly<Record<string, fc.Arbitrary<string>>> = {
  seed: fc.oneof(
    fc.bigInt({ min: 0n, max: 2n ** 64n + 3n }).map(String),
    fc.bigInt({ min: 2n ** 64n - 5n, max: 2n ** 64n + 1n }).map(String),
    fc.constantFrom('-1', 'random', '', '42\u0000'),
  ),
  sampler: fc.constantFrom(...SAMPLER_CHOICES.flatMap((choice) => [choice.name, choice.value]), ''),
  key: fc.constantFrom(...SETTING_KEY_NAMES, 'nope', ''),
  value: fc.constantFrom('0', '1', '2', '64', '4096', 'on', 'off', 'clamp', 'refuse', 'none', 'all', 'Euler a', 'spider', '<#1>', '-1', '1e3'),
  job: fc.oneof(fc.uuid(), fc.constant('00000000-0000-4000-8000-000000000000')),
  parameters: fc.oneof(a1111Block, everyKeyMalformed),
};

/** A value the definition allows (what Discord's own client can send). */
export function validValue(definition: Definition): fc.Arbitrary<unknown> {
  switch (definition.type) {
    case Type.String: {
      if (definition.choices) return fc.constantFrom(...definition.choices.map((choice) => choice.value));
      const hint = TEXT_HINTS[definition.name];
      const text = hint ? fc.oneof({ weight: 4, arbitrary: hint }, { weight: 1, arbitrary: hostileText() }) : hostileText();
      return text.map((value) => value.slice(0, definition.max_length ?? 6000));
    }
    case Type.Integer:
      return fc.integer({ min: definition.min_value ?? -(2 ** 31), max: definition.max_value ?? 2 ** 31 });
    case Type.Number:
      return fc.double({ min: definition.min_value ?? -1e9, max: definition.max_value ?? 1e9, noNaN: true });
    case Type.Boolean:
      return fc.boolean();
    case Type.Attachment:
      return fc.constantFrom(...UPLOAD_KINDS).map((upload): UploadMarker => ({ upload }));
    default:
      return fc.constant('1234567890123456789');
  }
}

/** A value a modified client can put in the option: another type, out of range, absurd. */
export function hostileValue(definition: Definition): fc.Arbitrary<unknown> {
  const numeric = definition.type === Type.Integer || definition.type === Type.Number;
  const edges = numeric ? [(definition.min_value ?? 0) - 1, (definition.max_value ?? 0) + 1, 1.5, -0.5] : [];
  return fc.oneof(
    fc.constantFrom<unknown>(...edges, 1e308, -1e308, 2 ** 53 + 2, -1, 0, '', '20', 'NaN', true, null, { valueOf: 2 }, [1, 2], '1'.repeat(100_000)),
    hostileOrLongText(),
    fc.double(),
    fc.integer(),
  );
}

/** One option of a definition, usually valid, sometimes hostile, sometimes sent with another type. */
function option(definition: Definition): fc.Arbitrary<GeneratedOption> {
  const value = fc.oneof({ weight: 5, arbitrary: validValue(definition) }, { weight: 1, arbitrary: hostileValue(definition) });
  const type = fc.oneof({ weight: 12, arbitrary: fc.constant<number>(definition.type) }, { weight: 1, arbitrary: fc.constantFrom(3, 4, 5, 10, 11) });
  return fc.record({ type, value }).map(({ type: sent, value: v }) => ({ name: definition.name, type: sent, value: v }));
}

/** The options of one level: required ones always, optional ones at random. */
function optionsOf(definitions: readonly Definition[]): fc.Arbitrary<GeneratedOption[]> {
  const entries = definitions.map((definition) =>
    'required' in definition && definition.required ? option(definition).map((o) => [o]) : fc.option(option(definition), { nil: undefined }).map((o) => (o ? [o] : [])),
  );
  return fc.tuple(...entries).map((lists) => lists.flat());
}

/** What a modified client does to a level's options: drops one, adds an unknown one, repeats one, wraps them. */
function tampered(options: fc.Arbitrary<GeneratedOption[]>): fc.Arbitrary<GeneratedOption[]> {
  return fc.oneof(
    { weight: 12, arbitrary: options },
    { weight: 1, arbitrary: fc.tuple(options, fc.nat()).map(([list, i]) => list.filter((_, j) => j !== i % Math.max(1, list.length))) },
    { weight: 1, arbitrary: fc.tuple(options, fc.constantFrom('nsfw', 'admin', '__proto__', 'prompt\u0000')).map(([list, name]) => [...list, { name, type: Type.String, value: 'x' }]) },
    { weight: 1, arbitrary: options.map((list) => (list[0] ? [...list, list[0]] : list)) },
    { weight: 1, arbitrary: options.map((list) => [{ name: 'wrapped', type: Type.Subcommand, options: list }]) },
  );
}

/** `data.options` for `command`: subcommands chosen among the registered ones (or an unknown one), then options. */
export function commandPayload(command: CommandData): fc.Arbitrary<GeneratedOption[]> {
  const definitions = command.options ?? [];
  const subcommands = definitions.filter((d) => d.type === Type.Subcommand);
  if (subcommands.length === 0) return tampered(optionsOf(definitions));
  const chosen = fc.constantFrom(...subcommands).chain((sub) =>
    tampered(optionsOf('options' in sub ? (sub.options ?? []) : [])).map((options): GeneratedOption[] => [{ name: sub.name, type: Type.Subcommand, options }]),
  );
  const missing = fc.constant<GeneratedOption[]>([]);
  const unknown = fc.constant<GeneratedOption[]>([{ name: 'purge', type: Type.Subcommand, options: [] }]);
  return fc.oneof({ weight: 12, arbitrary: chosen }, { weight: 1, arbitrary: missing }, { weight: 1, arbitrary: unknown });
}

const KINDS: Readonly<Record<string, GenerationRequest['kind']>> = { imagine: 'txt2img', variation: 'img2img', inpaint: 'inpaint' };

/** A generating command's option values by name (valid or hostile), for the request builder directly. */
export function commandOptions(command: CommandData): fc.Arbitrary<{ kind: GenerationRequest['kind']; values: Record<string, unknown> }> {
  return optionsOf(command.options ?? []).map((options) => ({
    kind: KINDS[command.name] ?? 'txt2img',
    values: Object.fromEntries(options.map((o) => [o.name, o.value])),
  }));
}
