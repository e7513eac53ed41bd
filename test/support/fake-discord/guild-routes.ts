import { apiChannel, apiGuild, apiMember } from './api-objects.js';
import type { Backend } from './backend.js';
import { DiscordErrors } from './discord-error.js';
import { ok, type Router } from './router.js';
import type { FakeGuild } from './world.js';

/** The guild lookups discord.js makes (`guilds.fetch`, `channels.fetch`, `members.fetch(id)`). */
export function addGuildRoutes(router: Router, backend: Backend): void {
  const guildOf = (params: Readonly<Record<string, string>>): FakeGuild => {
    const guild = backend.world.findGuild(params['guild'] ?? '');
    if (!guild) throw DiscordErrors.unknownGuild();
    return guild;
  };
  router.add('GET', '/guilds/:guild', ({ params }) => ok(apiGuild(guildOf(params))));
  router.add('GET', '/guilds/:guild/channels', ({ params }) => ok([...guildOf(params).channels.values()].map(apiChannel)));
  router.add('GET', '/guilds/:guild/members/:user', ({ params }) => {
    const member = guildOf(params).members.get(params['user'] ?? '');
    if (!member) throw DiscordErrors.unknownMember();
    return ok(apiMember(member));
  });
}
