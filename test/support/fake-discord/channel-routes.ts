import { PermissionFlagsBits, type APIPartialEmoji } from 'discord.js';
import { apiChannel } from './api-objects.js';
import type { Backend } from './backend.js';
import { DIRECT_MESSAGE_SIZE_LIMIT } from './direct-messages.js';
import { DiscordErrors } from './discord-error.js';
import type { FakeMessage } from './fake-message.js';
import { parseMessageWrite } from './message-write.js';
import { enforcedNonce, NonceLedger } from './nonces.js';
import { NO_CONTENT, ok, type Router } from './router.js';
import type { FakeChannel } from './world.js';

const P = PermissionFlagsBits;

/** Channels, their messages and reactions, checked against the bot's permissions as Discord does. */
export function addChannelRoutes(router: Router, backend: Backend): void {
  const { world, messages, clock } = backend;
  const bot = world.bot;
  const nonces = new NonceLedger();

  /** The channel, if the bot can see it: 404 10003 if it does not exist, 403 50001 if hidden, 403 50013 without `needed`. */
  const channelOf = (params: Readonly<Record<string, string>>, needed = 0n): FakeChannel => {
    const channel = world.findChannel(params['channel'] ?? '');
    if (!channel) throw DiscordErrors.unknownChannel();
    const permissions = world.permissionsOf(world.botMember(channel.guildId), channel);
    if ((permissions & P.ViewChannel) === 0n) throw DiscordErrors.missingAccess();
    if ((permissions & needed) !== needed) throw DiscordErrors.missingPermissions();
    return channel;
  };
  const messageOf = (channel: FakeChannel, params: Readonly<Record<string, string>>): FakeMessage => {
    const message = messages.find(params['message'] ?? '');
    if (!message || message.channelId !== channel.id || message.deleted || message.ephemeral) {
      throw DiscordErrors.unknownMessage();
    }
    return message;
  };
  const canEmbed = (channel: FakeChannel): boolean =>
    (world.permissionsOf(world.botMember(channel.guildId), channel) & P.EmbedLinks) !== 0n;

  router.add('GET', '/channels/:channel', ({ params }) => ok(apiChannel(channelOf(params))));

  router.add('GET', '/channels/:channel/messages', ({ params, query }) => {
    const channel = channelOf(params, P.ReadMessageHistory);
    const limit = Math.min(Number(query.get('limit') ?? 50), 100);
    const before = BigInt(query.get('before') ?? '0') || undefined;
    const after = BigInt(query.get('after') ?? '0');
    const found = messages
      .inChannel(channel.id)
      .filter((m) => BigInt(m.id) > after && (before === undefined || BigInt(m.id) < before))
      .reverse()
      .slice(0, limit);
    return ok(found.map((m) => m.toApi(bot.id)));
  });

  router.add('POST', '/channels/:channel/messages', ({ params, body }) => {
    const channelId = params['channel'] ?? '';
    if (backend.directMessages.has(channelId)) {
      const write = parseMessageWrite(body.json, body.files, DIRECT_MESSAGE_SIZE_LIMIT);
      return ok(backend.directMessages.send(channelId, bot, write).toApi(bot.id));
    }
    const needed = P.SendMessages | (body.files.length > 0 ? P.AttachFiles : 0n);
    const channel = channelOf(params, needed);
    const write = parseMessageWrite(body.json, body.files, backend.attachmentSizeLimit);
    // A retried create with the same enforced nonce gets the message the first one made, not a second one.
    const nonce = enforcedNonce(body.json);
    const earlier = nonce === undefined ? undefined : messages.find(nonces.recall(channel.id, nonce, clock.now()) ?? '');
    if (earlier && !earlier.deleted) return ok(earlier.toApi(bot.id));
    // Without Embed Links, Discord silently drops the embeds rather than failing.
    const allowed = canEmbed(channel) ? write : { ...write, embeds: [] };
    const message = messages.create({ channel, author: bot, write: allowed });
    if (nonce !== undefined) nonces.remember(channel.id, nonce, message.id, clock.now());
    return ok(message.toApi(bot.id));
  });

  router.add('GET', '/channels/:channel/messages/:message', ({ params }) => {
    const channel = channelOf(params, P.ReadMessageHistory);
    return ok(messageOf(channel, params).toApi(bot.id));
  });

  router.add('PATCH', '/channels/:channel/messages/:message', ({ params, body }) => {
    const channel = channelOf(params);
    const message = messageOf(channel, params);
    if (message.author.id !== bot.id) throw DiscordErrors.notAuthor();
    const write = parseMessageWrite(body.json, body.files, backend.attachmentSizeLimit);
    messages.edit(message, canEmbed(channel) ? write : { ...write, embeds: [] });
    return ok(message.toApi(bot.id));
  });

  router.add('DELETE', '/channels/:channel/messages/:message', ({ params }) => {
    const channel = channelOf(params);
    const message = messageOf(channel, params);
    if (message.author.id !== bot.id) channelOf(params, P.ManageMessages);
    messages.delete(message);
    return NO_CONTENT;
  });

  const reactions = '/channels/:channel/messages/:message/reactions/:emoji/@me';
  for (const [method, present] of [['PUT', true], ['DELETE', false]] as const) {
    router.add(method, reactions, ({ params }) => {
      const channel = channelOf(params, present ? P.AddReactions | P.ReadMessageHistory : 0n);
      messages.react(messageOf(channel, params), parseEmoji(params['emoji'] ?? ''), bot, present);
      return NO_CONTENT;
    });
  }
}

/** A reaction emoji in a path: the character itself, or `name:id` for a custom emoji. */
function parseEmoji(text: string): APIPartialEmoji {
  const custom = /^(.+):(\d+)$/.exec(text);
  return custom ? { name: custom[1] ?? null, id: custom[2] ?? null } : { name: text, id: null };
}
