import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  InteractionContextType,
  Locale,
  type APIApplicationCommand,
  type APIApplicationCommandOption,
  type InteractionType,
} from 'discord.js';
import { apiChannel, apiMember } from './api-objects.js';
import { apiAttachment, type FakeAttachment } from './attachments.js';
import type { FakeChannel, FakeMember, World } from './world.js';

/** A value for a command option: a string, a number, a boolean, an uploaded attachment, a member or a channel. */
export type OptionValue = string | number | boolean | FakeAttachment | FakeMember | FakeChannel;

/** Option values by option name. */
export type OptionValues = Readonly<Record<string, OptionValue>>;

/** Where an interaction happens and who starts it. */
export interface InteractionPlace {
  readonly channel: FakeChannel;
  readonly member: FakeMember;
}

/** The fields every guild interaction carries, whatever its type. */
export interface EnvelopeSpec {
  readonly id: string;
  readonly token: string;
  readonly type: InteractionType;
  readonly attachmentSizeLimit: number;
}

/** What a command interaction's `data` is built from. */
export interface CommandSpec {
  readonly name: string;
  readonly options?: OptionValues | undefined;
  /** `'sub'`, or `'group sub'` for a subcommand in a group. */
  readonly subcommand?: string | undefined;
  /** Autocomplete only: the option being typed. */
  readonly focused?: string | undefined;
  /**
   * A modified client's `data.options`, sent as given and unchecked: wrong types, unknown names, any nesting.
   * Attachments in it are sent as their ids, with `data.resolved` filled in. Replaces `options` and `subcommand`.
   */
  readonly rawOptions?: readonly RawOption[] | undefined;
}

/** One entry of `data.options` as a modified client may send it. */
export interface RawOption {
  readonly name: string;
  readonly type: number;
  readonly value?: unknown;
  readonly options?: readonly RawOption[];
}

/**
 * The envelope of a guild interaction. discord.js drops an interaction without `entitlements`,
 * `authorizing_integration_owners` or `member`, so they are always there.
 */
export function interactionEnvelope(world: World, place: InteractionPlace, spec: EnvelopeSpec): Record<string, unknown> {
  const { channel, member } = place;
  return {
    id: spec.id,
    application_id: world.application.id,
    type: spec.type,
    token: spec.token,
    version: 1,
    guild_id: channel.guildId,
    guild: { id: channel.guildId, locale: Locale.EnglishUS, features: [] },
    channel_id: channel.id,
    channel: apiChannel(channel),
    member: { ...apiMember(member), permissions: world.permissionsOf(member, channel).toString() },
    app_permissions: world.permissionsOf(world.botMember(channel.guildId), channel).toString(),
    locale: Locale.EnglishUS,
    guild_locale: Locale.EnglishUS,
    entitlements: [],
    authorizing_integration_owners: { '0': channel.guildId },
    context: InteractionContextType.Guild,
    attachment_size_limit: spec.attachmentSizeLimit,
  };
}

/**
 * The `data` of a chat-input command or autocomplete interaction. With the command registered, option types come
 * from its definition and an unknown or missing required option throws (Discord's client would not send it);
 * without it, types are inferred from the values.
 */
export function commandData(
  world: World,
  place: InteractionPlace,
  command: APIApplicationCommand | undefined,
  spec: CommandSpec,
): Record<string, unknown> {
  if (spec.rawOptions) {
    const resolved = new Resolved(world, place);
    return { ...commandFields(world, command, spec.name), options: spec.rawOptions.map((o) => rawOption(o, resolved)), resolved: resolved.toJSON() };
  }
  const path = spec.subcommand?.split(' ') ?? [];
  let definitions = command?.options;
  for (const name of path) definitions = definitionsOf(definitions?.find((o) => o.name === name));
  const entries = Object.entries(spec.options ?? {});
  if (definitions) checkOptions(`/${[spec.name, ...path].join(' ')}`, definitions, entries.map(([name]) => name));

  const resolved = new Resolved(world, place);
  let options: object[] = entries.map(([name, value]) => ({
    name,
    type: definitions?.find((d) => d.name === name)?.type ?? inferType(value),
    value: resolved.add(value),
    ...(name === spec.focused ? { focused: true } : {}),
  }));
  // Wrap from the inside out: the last name is the subcommand, one before it its group.
  const levels = path.map((name, i) => ({
    name,
    type: i === path.length - 1 ? ApplicationCommandOptionType.Subcommand : ApplicationCommandOptionType.SubcommandGroup,
  }));
  for (const level of levels.reverse()) options = [{ ...level, options }];
  return { ...commandFields(world, command, spec.name), options, ...(resolved.isEmpty ? {} : { resolved: resolved.toJSON() }) };
}

function commandFields(world: World, command: APIApplicationCommand | undefined, name: string): Record<string, unknown> {
  return {
    // An unregistered command (a test that skips registration) gets a placeholder snowflake.
    id: command?.id ?? world.application.id,
    name,
    type: ApplicationCommandType.ChatInput,
    ...(command?.guild_id ? { guild_id: command.guild_id } : {}),
  };
}

function rawOption(option: RawOption, resolved: Resolved): object {
  const { value, options } = option;
  const isAttachment = typeof value === 'object' && value !== null && 'bytes' in value;
  return {
    name: option.name,
    type: option.type,
    ...('value' in option ? { value: isAttachment ? resolved.add(value as FakeAttachment) : value } : {}),
    ...(options ? { options: options.map((o) => rawOption(o, resolved)) } : {}),
  };
}

function definitionsOf(option: APIApplicationCommandOption | undefined): APIApplicationCommandOption[] | undefined {
  return option && 'options' in option ? option.options : undefined;
}

function checkOptions(command: string, definitions: readonly APIApplicationCommandOption[], given: readonly string[]): void {
  const unknown = given.filter((name) => !definitions.some((d) => d.name === name));
  const missing = definitions.filter((d) => 'required' in d && d.required && !given.includes(d.name)).map((d) => d.name);
  if (unknown.length > 0 || missing.length > 0) {
    throw new Error(`${command} is registered without option(s) [${unknown.join(', ')}] and requires [${missing.join(', ')}]`);
  }
}

function inferType(value: OptionValue): ApplicationCommandOptionType {
  if (typeof value === 'string') return ApplicationCommandOptionType.String;
  if (typeof value === 'boolean') return ApplicationCommandOptionType.Boolean;
  if (typeof value === 'number') return Number.isInteger(value) ? ApplicationCommandOptionType.Integer : ApplicationCommandOptionType.Number;
  if ('bytes' in value) return ApplicationCommandOptionType.Attachment;
  return 'user' in value ? ApplicationCommandOptionType.User : ApplicationCommandOptionType.Channel;
}

/** `data.resolved`: the full objects behind attachment, user and channel options, keyed by id. */
class Resolved {
  readonly #world: World;
  readonly #place: InteractionPlace;
  readonly #attachments: Record<string, object> = {};
  readonly #users: Record<string, object> = {};
  readonly #members: Record<string, object> = {};
  readonly #channels: Record<string, object> = {};

  constructor(world: World, place: InteractionPlace) {
    this.#world = world;
    this.#place = place;
  }

  get isEmpty(): boolean {
    return [this.#attachments, this.#users, this.#channels].every((map) => Object.keys(map).length === 0);
  }

  /** Records what `value` refers to and returns the option's wire value (an id for objects). */
  add(value: OptionValue): string | number | boolean {
    if (typeof value !== 'object') return value;
    if ('bytes' in value) {
      this.#attachments[value.id] = apiAttachment(value);
      return value.id;
    }
    if ('user' in value) {
      const { user, ...member } = apiMember(value);
      this.#users[user.id] = user;
      this.#members[user.id] = { ...member, permissions: this.#world.permissionsOf(value, this.#place.channel).toString() };
      return user.id;
    }
    this.#channels[value.id] = { ...apiChannel(value), permissions: this.#world.permissionsOf(this.#place.member, value).toString() };
    return value.id;
  }

  toJSON(): Record<string, object> {
    return { attachments: this.#attachments, users: this.#users, members: this.#members, channels: this.#channels };
  }
}
