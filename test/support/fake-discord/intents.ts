import { GatewayDispatchEvents as E, GatewayIntentBits as I } from 'discord.js';
import { isJsonObject } from './json.js';

/** Intents Discord grants only when switched on in the developer portal. */
export const PRIVILEGED_INTENTS = I.GuildMembers | I.GuildPresences | I.MessageContent;

/** The intent each event needs; events not listed (READY, RESUMED, INTERACTION_CREATE) always arrive. */
const EVENT_INTENTS: Partial<Record<E, number>> = {
  [E.GuildCreate]: I.Guilds,
  [E.GuildRoleCreate]: I.Guilds,
  [E.GuildRoleUpdate]: I.Guilds,
  [E.ChannelCreate]: I.Guilds,
  [E.ChannelUpdate]: I.Guilds,
  [E.GuildMemberAdd]: I.GuildMembers,
  [E.MessageCreate]: I.GuildMessages,
  [E.MessageUpdate]: I.GuildMessages,
  [E.MessageDelete]: I.GuildMessages,
  [E.MessageReactionAdd]: I.GuildMessageReactions,
  [E.MessageReactionRemove]: I.GuildMessageReactions,
};

/**
 * The event as a session with `intents` receives it: `undefined` when it lacks the event's intent, and, without
 * Message Content, other users' messages stripped of content, embeds, attachments and components (as Discord does).
 */
export function shapeForIntents(event: E, data: object, intents: number, botId: string): object | undefined {
  const needed = EVENT_INTENTS[event] ?? 0;
  if ((intents & needed) !== needed) return undefined;
  const isMessage = event === E.MessageCreate || event === E.MessageUpdate;
  if (!isMessage || (intents & I.MessageContent) !== 0) return data;
  const author = isJsonObject(data) && isJsonObject(data['author']) ? data['author']['id'] : undefined;
  return author === botId ? data : { ...data, content: '', embeds: [], attachments: [], components: [] };
}
