import {
  ApplicationCommandOptionType as Type,
  type APIApplicationCommandOption,
  type CommandInteractionOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { shownValue } from '../../shown-value.js';

type Definition = APIApplicationCommandOption;
type Given = readonly CommandInteractionOption[];

const SUBCOMMAND_TYPES: readonly Type[] = [Type.Subcommand, Type.SubcommandGroup];

/**
 * Why a command's options do not match the definition the bot registered, in one sentence for the member, or
 * undefined when they match. Discord's own client never sends a mismatch, but a modified client can send anything
 * (an option of another type, a value out of range, an unknown subcommand): handlers only ever see what the
 * definition allows. Values are quoted through `shownValue`, so nothing unprintable is echoed.
 */
export function commandMismatch(command: RESTPostAPIChatInputApplicationCommandsJSONBody, given: Given): string | undefined {
  return levelMismatch(`/${command.name}`, command.options ?? [], given, 'command');
}

/**
 * The same check for an autocomplete request, where the member is still typing: required options may be missing,
 * and the focused option holds the text so far (a string whatever its type), which must be an option that has
 * autocomplete. For the log only; the member sees no choices.
 */
export function autocompleteMismatch(command: RESTPostAPIChatInputApplicationCommandsJSONBody, given: Given): string | undefined {
  return levelMismatch(`/${command.name}`, command.options ?? [], given, 'autocomplete');
}

type Mode = 'command' | 'autocomplete';

/** One level of options: a choice of subcommands (or groups), or plain options. */
function levelMismatch(path: string, definitions: readonly Definition[], given: Given, mode: Mode): string | undefined {
  const branches = definitions.filter((d) => SUBCOMMAND_TYPES.includes(d.type));
  if (branches.length === 0) return optionsMismatch(path, definitions, given, mode);
  const [chosen, ...rest] = given;
  const branch = branches.find((d) => d.name === chosen?.name && d.type === chosen.type);
  if (!chosen || rest.length > 0 || !branch) {
    return `\`${path}\` needs one of its subcommands: ${branches.map((d) => d.name).join(', ')}.`;
  }
  return levelMismatch(`${path} ${branch.name}`, 'options' in branch ? (branch.options ?? []) : [], chosen.options ?? [], mode);
}

function optionsMismatch(path: string, definitions: readonly Definition[], given: Given, mode: Mode): string | undefined {
  const seen = new Set<string>();
  for (const option of given) {
    const definition = definitions.find((d) => d.name === option.name);
    if (!definition) {
      return SUBCOMMAND_TYPES.includes(option.type) ? `\`${path}\` has no subcommands.` : `\`${path}\` has no option by that name.`;
    }
    if (seen.has(definition.name)) return `\`${path}\` got \`${definition.name}\` twice.`;
    seen.add(definition.name);
    const problem = mode === 'autocomplete' && option.focused === true ? typingMismatch(definition, option) : valueMismatch(definition, option);
    if (problem) return problem;
  }
  if (mode === 'autocomplete') return given.filter((option) => option.focused === true).length === 1 ? undefined : `\`${path}\` needs one focused option.`;
  const missing = definitions.find((d) => 'required' in d && d.required === true && !seen.has(d.name));
  return missing ? `\`${path}\` needs \`${missing.name}\`.` : undefined;
}

/** Whether the focused option of an autocomplete request is one with autocomplete, holding text that fits it. */
function typingMismatch(definition: Definition, option: CommandInteractionOption): string | undefined {
  const name = `\`${definition.name}\``;
  if (!('autocomplete' in definition) || definition.autocomplete !== true) return `${name} has no autocomplete.`;
  if (typeof option.value !== 'string') return `${name} must be the text typed so far.`;
  const limit = definition.type === Type.String ? definition.max_length : undefined;
  return limit !== undefined && option.value.length > limit ? `${name} is ${option.value.length} characters long; the limit is ${limit}.` : undefined;
}

/** Whether one option's type and value are what its definition allows. */
function valueMismatch(definition: Definition, option: CommandInteractionOption): string | undefined {
  const name = `\`${definition.name}\``;
  const { value } = option;
  switch (definition.type) {
    case Type.String:
      if (option.type !== definition.type || typeof value !== 'string') return `${name} must be text.`;
      if (definition.max_length !== undefined && value.length > definition.max_length) {
        return `${name} is ${value.length} characters long; the limit is ${definition.max_length}.`;
      }
      if (definition.min_length !== undefined && value.length < definition.min_length) {
        return `${name} must be at least ${definition.min_length} characters long.`;
      }
      return choiceMismatch(name, definition.choices, value);
    case Type.Integer:
    case Type.Number: {
      const whole = definition.type === Type.Integer;
      const fits = typeof value === 'number' && (whole ? Number.isInteger(value) : Number.isFinite(value));
      const { min_value: min, max_value: max } = definition;
      if (option.type === definition.type && fits && (min === undefined || value >= min) && (max === undefined || value <= max)) {
        return choiceMismatch(name, definition.choices, value);
      }
      const range = min !== undefined && max !== undefined ? ` from ${min} to ${max}` : '';
      return `${name} must be a ${whole ? 'whole number' : 'number'}${range}, got ${shownValue(value)}.`;
    }
    case Type.Boolean:
      return option.type === definition.type && typeof value === 'boolean' ? undefined : `${name} must be true or false.`;
    case Type.Attachment:
      return option.type === definition.type && option.attachment ? undefined : `${name} must be a file you upload with the command.`;
    default:
      // Users, channels, roles: no command of the bot takes them; refuse rather than guess.
      return `${name} is not an option I can read.`;
  }
}

function choiceMismatch(name: string, choices: readonly { readonly value: string | number }[] | undefined, value: string | number): string | undefined {
  if (!choices || choices.some((choice) => choice.value === value)) return undefined;
  return `${name} must be one of ${choices.map((choice) => choice.value).join(', ')}, got ${shownValue(value)}.`;
}
