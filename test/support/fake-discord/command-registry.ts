import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  type APIApplicationCommand,
  type RESTPostAPIApplicationCommandsJSONBody,
} from 'discord.js';
import type { Snowflakes } from './snowflakes.js';

/** Where commands are registered: everywhere, or in one guild. */
export type CommandScope = { readonly global: true } | { readonly guildId: string };

/**
 * The application's registered commands, per scope. A bulk overwrite keeps the id of a command whose name and
 * type are unchanged, as Discord does, so a test can tell an update from a re-creation.
 */
export class CommandRegistry {
  readonly #ids: Snowflakes;
  readonly #applicationId: string;
  readonly #scopes = new Map<string, APIApplicationCommand[]>();

  constructor(ids: Snowflakes, applicationId: string) {
    this.#ids = ids;
    this.#applicationId = applicationId;
  }

  /** The commands registered in `scope`. */
  list(scope: CommandScope): readonly APIApplicationCommand[] {
    return this.#scopes.get(key(scope)) ?? [];
  }

  /** Replaces every command of `scope` (PUT). */
  overwrite(scope: CommandScope, bodies: readonly RESTPostAPIApplicationCommandsJSONBody[]): APIApplicationCommand[] {
    const previous = this.list(scope);
    const commands = bodies.map((body) => this.#build(scope, body, previous));
    this.#scopes.set(key(scope), commands);
    return commands;
  }

  /** Creates or replaces one command of `scope` (POST). */
  upsert(scope: CommandScope, body: RESTPostAPIApplicationCommandsJSONBody): APIApplicationCommand {
    const previous = this.list(scope);
    const command = this.#build(scope, body, previous);
    this.#scopes.set(key(scope), [...previous.filter((c) => c.id !== command.id), command]);
    return command;
  }

  /** The chat-input command a member would see under `name` in `guildId`: a guild command wins over a global one. */
  findChatInput(name: string, guildId: string): APIApplicationCommand | undefined {
    const matches = (c: APIApplicationCommand): boolean => c.name === name && c.type === ApplicationCommandType.ChatInput;
    return this.list({ guildId }).find(matches) ?? this.list({ global: true }).find(matches);
  }

  #build(
    scope: CommandScope,
    body: RESTPostAPIApplicationCommandsJSONBody,
    previous: readonly APIApplicationCommand[],
  ): APIApplicationCommand {
    const type = body.type ?? ApplicationCommandType.ChatInput;
    const kept = previous.find((c) => c.name === body.name && c.type === type);
    return {
      name_localizations: null,
      description_localizations: null,
      nsfw: false,
      integration_types: [ApplicationIntegrationType.GuildInstall],
      contexts: null,
      ...body,
      id: kept?.id ?? this.#ids.next(),
      application_id: this.#applicationId,
      version: this.#ids.next(),
      type,
      description: ('description' in body ? body.description : undefined) ?? '',
      default_member_permissions: body.default_member_permissions ?? null,
      ...('guildId' in scope ? { guild_id: scope.guildId } : {}),
    };
  }
}

function key(scope: CommandScope): string {
  return 'guildId' in scope ? scope.guildId : 'global';
}
