import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ButtonStyle,
  ComponentType,
  MessageFlags,
  type APIApplicationCommandOption,
  type APIApplicationCommandOptionChoice,
  type APIEmbed,
  type APIMessageTopLevelComponent,
  type RESTPostAPIApplicationCommandsJSONBody,
} from 'discord.js';
import type { FieldProblem } from './discord-error.js';
import { actionRows, customIdsIn } from './message-components.js';

// Discord's documented limits. Each check returns the problems it found, with paths like Discord's own
// `errors` object, so one answer can list several.

const MAX_CONTENT = 2000;
const MAX_EMBEDS = 10;
const MAX_EMBED_CHARS = 6000;
const MAX_FILES = 10;
const MAX_ROWS = 5;
const MAX_ROW_BUTTONS = 5;
const MAX_CUSTOM_ID = 100;
const MAX_BUTTON_LABEL = 80;
const MAX_CHOICES = 25;
const MAX_OPTIONS = 25;
const MAX_COMMANDS = 100;
const MAX_MODAL_TITLE = 45;

/** Per-field embed limits, and the fields that count towards the 6000 characters of all embeds together. */
const EMBED_FIELDS: readonly { path: string; max: number; read: (e: APIEmbed) => string | undefined }[] = [
  { path: 'title', max: 256, read: (e) => e.title },
  { path: 'description', max: 4096, read: (e) => e.description },
  { path: 'footer.text', max: 2048, read: (e) => e.footer?.text },
  { path: 'author.name', max: 256, read: (e) => e.author?.name },
];

/** Command and option names: 1–32 lowercase letters, digits, `-` or `_` (letters of any script). */
const NAME_PATTERN = /^[-_'\p{Ll}\p{Lo}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

/** Length in characters (code points), as Discord counts them. */
function length(text: string): number {
  return [...text].length;
}

function tooLong(path: string, max: number): FieldProblem {
  return { path, code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${max} or fewer in length.` };
}

function checkLength(path: string, text: string | undefined, max: number, min = 0): FieldProblem[] {
  if (text === undefined) return min > 0 ? [{ path, code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }] : [];
  if (length(text) < min) return [{ path, code: 'BASE_TYPE_MIN_LENGTH', message: `Must be ${min} or more in length.` }];
  return length(text) > max ? [tooLong(path, max)] : [];
}

/** Message content. */
export function contentProblems(content: string | null | undefined): FieldProblem[] {
  return checkLength('content', content ?? undefined, MAX_CONTENT);
}

/** Number of files in one message. */
export function fileCountProblems(count: number): FieldProblem[] {
  return count > MAX_FILES ? [tooLong('files', MAX_FILES)] : [];
}

/** Up to 10 embeds, their per-field limits, and 6000 characters across all of them. */
export function embedProblems(embeds: readonly APIEmbed[]): FieldProblem[] {
  const problems: FieldProblem[] = embeds.length > MAX_EMBEDS ? [tooLong('embeds', MAX_EMBEDS)] : [];
  let total = 0;
  embeds.forEach((embed, i) => {
    for (const field of EMBED_FIELDS) {
      const text = field.read(embed);
      total += length(text ?? '');
      problems.push(...checkLength(`embeds.${i}.${field.path}`, text, field.max));
    }
    const fields = embed.fields ?? [];
    if (fields.length > 25) problems.push(tooLong(`embeds.${i}.fields`, 25));
    fields.forEach((f, j) => {
      total += length(f.name) + length(f.value);
      problems.push(...checkLength(`embeds.${i}.fields.${j}.name`, f.name, 256, 1));
      problems.push(...checkLength(`embeds.${i}.fields.${j}.value`, f.value, 1024, 1));
    });
  });
  if (total > MAX_EMBED_CHARS) {
    problems.push({ path: 'embeds', code: 'MAX_EMBED_SIZE_EXCEEDED', message: 'Embed size exceeds maximum size of 6000' });
  }
  return problems;
}

/** At most 5 action rows of at most 5 buttons (or one select menu), with unique custom ids of ≤ 100 characters. */
export function componentProblems(components: readonly APIMessageTopLevelComponent[], flags: number): FieldProblem[] {
  // Components V2 layouts (containers, sections, …) have other rules that this fake does not check.
  if ((flags & MessageFlags.IsComponentsV2) !== 0) return [];
  const problems: FieldProblem[] = components.length > MAX_ROWS ? [tooLong('components', MAX_ROWS)] : [];
  components.forEach((component, i) => {
    if (component.type !== ComponentType.ActionRow) {
      problems.push({ path: `components.${i}.type`, code: 'UNION_TYPE_CHOICES', message: 'Value must be an action row' });
    }
  });
  actionRows(components).forEach((row, i) => {
    const hasSelect = row.some((child) => child.type !== ComponentType.Button);
    if (row.length > MAX_ROW_BUTTONS || (hasSelect && row.length > 1)) {
      problems.push(tooLong(`components.${i}.components`, hasSelect ? 1 : MAX_ROW_BUTTONS));
    }
    row.forEach((child, j) => {
      const path = `components.${i}.components.${j}`;
      if ('custom_id' in child) problems.push(...checkLength(`${path}.custom_id`, child.custom_id, MAX_CUSTOM_ID, 1));
      if (child.type === ComponentType.Button) {
        if ('label' in child) problems.push(...checkLength(`${path}.label`, child.label, MAX_BUTTON_LABEL));
        const isLink = child.style === ButtonStyle.Link || child.style === ButtonStyle.Premium;
        if (!isLink && !('custom_id' in child)) {
          problems.push({ path: `${path}.custom_id`, code: 'BASE_TYPE_REQUIRED', message: 'This field is required' });
        }
      }
    });
  });
  const ids = customIdsIn(components);
  if (new Set(ids).size !== ids.length) {
    problems.push({ path: 'components', code: 'COMPONENT_CUSTOM_ID_DUPLICATED', message: 'Component custom id cannot be duplicated' });
  }
  return problems;
}

/** An autocomplete answer: at most 25 choices with 1–100 character names. */
export function choiceProblems(choices: readonly APIApplicationCommandOptionChoice[]): FieldProblem[] {
  const problems = choices.length > MAX_CHOICES ? [tooLong('data.choices', MAX_CHOICES)] : [];
  choices.forEach((choice, i) => problems.push(...checkLength(`data.choices.${i}.name`, choice.name, 100, 1)));
  return problems;
}

/** A modal: a title of ≤ 45 characters, a custom id of ≤ 100, and 1–5 components. */
export function modalProblems(modal: { title?: string; custom_id?: string; components?: readonly unknown[] }): FieldProblem[] {
  const count = modal.components?.length ?? 0;
  return [
    ...checkLength('data.title', modal.title, MAX_MODAL_TITLE, 1),
    ...checkLength('data.custom_id', modal.custom_id, MAX_CUSTOM_ID, 1),
    ...(count < 1 || count > 5 ? [tooLong('data.components', 5)] : []),
  ];
}

/** A bulk registration: ≤ 100 commands with unique names, each with valid names, descriptions and options. */
export function commandProblems(commands: readonly RESTPostAPIApplicationCommandsJSONBody[]): FieldProblem[] {
  const problems = commands.length > MAX_COMMANDS ? [tooLong('', MAX_COMMANDS)] : [];
  const keys = commands.map((c) => `${c.type ?? ApplicationCommandType.ChatInput}:${c.name}`);
  if (new Set(keys).size !== keys.length) {
    problems.push({ path: 'name', code: 'APPLICATION_COMMANDS_DUPLICATE_NAME', message: 'Application command names must be unique' });
  }
  commands.forEach((command, i) => {
    const chatInput = (command.type ?? ApplicationCommandType.ChatInput) === ApplicationCommandType.ChatInput;
    problems.push(...nameProblems(`${i}.name`, command.name, chatInput));
    if (chatInput) {
      problems.push(...checkLength(`${i}.description`, 'description' in command ? command.description : undefined, 100, 1));
      problems.push(...optionProblems(`${i}.options`, 'options' in command ? (command.options ?? []) : []));
    }
  });
  return problems;
}

function nameProblems(path: string, name: string, mustMatchPattern: boolean): FieldProblem[] {
  if (mustMatchPattern && !NAME_PATTERN.test(name)) {
    return [{ path, code: 'APPLICATION_COMMAND_INVALID_NAME', message: `Command name is invalid: ${name}` }];
  }
  return checkLength(path, name, 32, 1);
}

function optionProblems(path: string, options: readonly APIApplicationCommandOption[]): FieldProblem[] {
  const problems = options.length > MAX_OPTIONS ? [tooLong(path, MAX_OPTIONS)] : [];
  let optionalSeen = false;
  options.forEach((option, i) => {
    const at = `${path}.${i}`;
    problems.push(...nameProblems(`${at}.name`, option.name, true));
    problems.push(...checkLength(`${at}.description`, option.description, 100, 1));
    const isGroup =
      option.type === ApplicationCommandOptionType.Subcommand ||
      option.type === ApplicationCommandOptionType.SubcommandGroup;
    if (isGroup) {
      problems.push(...optionProblems(`${at}.options`, option.options ?? []));
      return;
    }
    if (option.required && optionalSeen) {
      problems.push({
        path: at,
        code: 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
        message: 'Required options must be placed before non-required options',
      });
    }
    optionalSeen ||= !option.required;
    if ('choices' in option && option.choices) {
      if (option.choices.length > MAX_CHOICES) problems.push(tooLong(`${at}.choices`, MAX_CHOICES));
      if ('autocomplete' in option && option.autocomplete) {
        const message = 'Autocomplete cannot be set with choices';
        problems.push({ path: `${at}.autocomplete`, code: 'AUTOCOMPLETE_CHOICES_CONFLICT', message });
      }
    }
  });
  return problems;
}
