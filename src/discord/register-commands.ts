import { createHash } from 'node:crypto';
import type { Client, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { z } from 'zod';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';

/**
 * Registers the slash commands at start-up, in one guild (instant) or globally, but only when their definitions
 * changed since the last registration there: Discord limits command creations per day, and self-hosters should
 * not need a separate deploy step.
 */
export async function registerCommands(
  client: Client<true>,
  definitions: readonly RESTPostAPIChatInputApplicationCommandsJSONBody[],
  options: { readonly guildId?: string | undefined; readonly store: Store; readonly log: Logger },
): Promise<void> {
  const target = options.guildId ? `guild:${options.guildId}` : 'global';
  const hash = createHash('sha256').update(JSON.stringify(definitions)).digest('hex');
  const registrations = await options.store.collection('command-registrations', { schema: z.string(), version: 1 });
  const key = `${client.application.id}:${target}`;
  if ((await registrations.get(key)) === hash) {
    options.log.info({ target }, 'slash commands unchanged; not registering');
    return;
  }
  if (options.guildId) await client.application.commands.set([...definitions], options.guildId);
  else await client.application.commands.set([...definitions]);
  await registrations.set(key, hash);
  options.log.info({ target, commands: definitions.map((d) => d.name) }, 'slash commands registered');
}
