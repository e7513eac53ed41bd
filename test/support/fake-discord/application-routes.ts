import type { RESTPostAPIApplicationCommandsJSONBody } from 'discord.js';
import { z } from 'zod';
import type { Backend } from './backend.js';
import type { CommandScope } from './command-registry.js';
import { DiscordErrors } from './discord-error.js';
import { parseFormBody } from './form-body.js';
import { isJsonObject } from './json.js';
import { commandProblems } from './limits.js';
import { ok, type Router, type RouteRequest } from './router.js';

const commandSchema = z.custom<RESTPostAPIApplicationCommandsJSONBody>(isJsonObject, 'Expected a command object');

/** The gateway lookup, the bot's own user and application, and command registration. */
export function addApplicationRoutes(router: Router, backend: Backend): void {
  const { world, commands } = backend;
  router.add('GET', '/gateway', () => ok({ url: backend.gatewayUrl }), { auth: false });
  router.add('GET', '/gateway/bot', () =>
    ok({
      url: backend.gatewayUrl,
      shards: 1,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
    }),
  );
  router.add('GET', '/users/@me', () => ok(world.bot));
  router.add('POST', '/users/@me/channels', ({ body }) =>
    ok(backend.directMessages.open(parseFormBody(z.object({ recipient_id: z.string() }), body.json).recipient_id)),
  );
  router.add('GET', '/applications/@me', () =>
    ok({
      ...world.application,
      icon: null,
      description: '',
      bot_public: true,
      bot_require_code_grant: false,
      bot: world.bot,
      verify_key: '0'.repeat(64),
    }),
  );

  const scopes: readonly [string, (params: Readonly<Record<string, string>>) => CommandScope][] = [
    ['/applications/:application/commands', () => ({ global: true })],
    ['/applications/:application/guilds/:guild/commands', (params) => ({ guildId: params['guild'] ?? '' })],
  ];
  for (const [pattern, scopeOf] of scopes) {
    const scope = ({ params }: RouteRequest): CommandScope => {
      if (params['application'] !== world.application.id) throw DiscordErrors.unknownApplication();
      const resolved = scopeOf(params);
      if ('guildId' in resolved && !world.findGuild(resolved.guildId)) throw DiscordErrors.missingAccess();
      return resolved;
    };
    router.add('GET', pattern, (request) => ok(commands.list(scope(request))));
    router.add('PUT', pattern, (request) => ok(commands.overwrite(scope(request), readCommands(request.body.json))));
    router.add('POST', pattern, (request) => {
      const command = parseFormBody(commandSchema, request.body.json);
      checkCommands([command]);
      return ok(commands.upsert(scope(request), command));
    });
  }
}

function readCommands(json: unknown): RESTPostAPIApplicationCommandsJSONBody[] {
  const bodies = parseFormBody(z.array(commandSchema), json);
  checkCommands(bodies);
  return bodies;
}

function checkCommands(bodies: readonly RESTPostAPIApplicationCommandsJSONBody[]): void {
  const problems = commandProblems(bodies);
  if (problems.length > 0) throw DiscordErrors.invalidFormBody(problems);
}
