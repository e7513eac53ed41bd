import { InteractionResponseType, MessageFlags } from 'discord.js';
import type { Backend } from './backend.js';
import { DiscordErrors } from './discord-error.js';
import type { FakeMessage } from './fake-message.js';
import type { InteractionHandle } from './interaction-handle.js';
import { createResponse } from './interaction-messages.js';
import { parseMessageWrite } from './message-write.js';
import { NO_CONTENT, ok, type Router, type RouteRequest } from './router.js';

/**
 * The interaction webhook: `@original` and follow-ups, authenticated by the interaction token in the path, which
 * Discord honours for 15 minutes (then 401 50027).
 */
export function addWebhookRoutes(router: Router, backend: Backend): void {
  const { messages, world } = backend;
  const botId = world.bot.id;

  const interactionOf = ({ params }: RouteRequest): InteractionHandle => {
    const handle = backend.interactions.byToken(params['token'] ?? '');
    if (params['application'] !== world.application.id || !handle) throw DiscordErrors.unknownWebhook();
    if (handle.tokenExpired(backend.clock.now())) throw DiscordErrors.invalidWebhookToken();
    return handle;
  };
  const messageOf = (request: RouteRequest): FakeMessage => {
    const handle = interactionOf(request);
    const id = request.params['message'];
    const message = id === '@original' ? handle.original : [handle.original, ...handle.followUps].find((m) => m?.id === id);
    if (!message || message.deleted) throw DiscordErrors.unknownMessage();
    return message;
  };

  const single = '/webhooks/:application/:token/messages/:message';
  router.add('GET', single, (request) => ok(messageOf(request).toApi(botId)), { auth: false });
  router.add(
    'PATCH',
    single,
    (request) => {
      const message = messageOf(request);
      messages.edit(message, parseMessageWrite(request.body.json, request.body.files, backend.attachmentSizeLimit));
      return ok(message.toApi(botId));
    },
    { auth: false },
  );
  router.add(
    'DELETE',
    single,
    (request) => {
      messages.delete(messageOf(request));
      return NO_CONTENT;
    },
    { auth: false },
  );

  router.add(
    'POST',
    '/webhooks/:application/:token',
    (request) => {
      const handle = interactionOf(request);
      if (!handle.acknowledgement) throw DiscordErrors.unknownWebhook();
      const write = parseMessageWrite(request.body.json, request.body.files, backend.attachmentSizeLimit);
      const original = handle.original;
      let message: FakeMessage;
      if (handle.acknowledgement.type === InteractionResponseType.DeferredChannelMessageWithSource && original?.loading && !original.deleted) {
        // Discord fills the "thinking…" message with the first follow-up after a deferReply (keeping its ephemerality);
        // once that message was deleted, a follow-up is a new message.
        messages.edit(original, write);
        message = original;
      } else {
        message = createResponse(backend, handle, write, (write.flags ?? 0) & MessageFlags.Ephemeral);
        handle.addFollowUp(message);
      }
      return request.query.get('wait') === 'true' ? ok(message.toApi(botId)) : NO_CONTENT;
    },
    { auth: false },
  );
}
