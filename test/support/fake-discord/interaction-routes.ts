import {
  InteractionResponseType,
  MessageFlags,
  type APIApplicationCommandOptionChoice,
  type APIModalInteractionResponseCallbackData,
} from 'discord.js';
import { z } from 'zod';
import type { Backend } from './backend.js';
import { DiscordErrors } from './discord-error.js';
import { parseFormBody } from './form-body.js';
import type { InteractionHandle, InteractionKind } from './interaction-handle.js';
import { isJsonObject } from './json.js';
import { choiceProblems, modalProblems } from './limits.js';
import { createResponse } from './interaction-messages.js';
import { parseMessageWrite, type MessageWrite } from './message-write.js';
import { NO_CONTENT, ok, type Router } from './router.js';
import type { RequestBody } from './uploads.js';

/** Discord's deadline for the first response to an interaction. */
export const ACK_DEADLINE_MS = 3000;

const R = InteractionResponseType;

/** The responses each kind of interaction accepts. */
const ALLOWED: Readonly<Record<InteractionKind, readonly InteractionResponseType[]>> = {
  command: [R.ChannelMessageWithSource, R.DeferredChannelMessageWithSource, R.Modal],
  autocomplete: [R.ApplicationCommandAutocompleteResult],
  button: [R.ChannelMessageWithSource, R.DeferredChannelMessageWithSource, R.DeferredMessageUpdate, R.UpdateMessage, R.Modal],
  'modal-submit': [R.ChannelMessageWithSource, R.DeferredChannelMessageWithSource, R.DeferredMessageUpdate, R.UpdateMessage],
};

const callbackSchema = z.looseObject({ type: z.enum(R), data: z.unknown().optional() });
const choicesSchema = z.looseObject({
  choices: z.array(z.custom<APIApplicationCommandOptionChoice>(isJsonObject, 'Expected a choice object')),
});
const modalSchema = z.custom<APIModalInteractionResponseCallbackData>(isJsonObject, 'Expected a modal object');

/** `POST /interactions/{id}/{token}/callback`: the one acknowledgement, within 3 s, of the right type. */
export function addInteractionRoutes(router: Router, backend: Backend): void {
  router.add(
    'POST',
    '/interactions/:interaction/:token/callback',
    ({ params, query, body }) => {
      const handle = backend.interactions.byId(params['interaction'] ?? '');
      if (!handle || handle.token !== params['token']) throw DiscordErrors.unknownInteraction('unknown-interaction');
      if (handle.acknowledgement) throw DiscordErrors.alreadyAcknowledged();
      const now = backend.clock.now();
      if (now - handle.dispatchedAt > ACK_DEADLINE_MS) throw DiscordErrors.unknownInteraction('ack-deadline');

      const { type, data } = parseFormBody(callbackSchema, body.json);
      if (!ALLOWED[handle.kind].includes(type)) throw invalidType(`A ${handle.kind} interaction cannot be answered with type ${type}`);
      const ephemeral = respond(backend, handle, type, data, body);
      handle.acknowledge(type, now, ephemeral);
      if (query.get('with_response') !== 'true') return NO_CONTENT;
      return ok(callbackResponse(backend, handle, type));
    },
    { auth: false },
  );
}

/** Carries out the response; returns whether it is ephemeral. */
function respond(backend: Backend, handle: InteractionHandle, type: InteractionResponseType, data: unknown, body: RequestBody): boolean {
  const write = (): MessageWrite => parseMessageWrite(data, body.files, backend.attachmentSizeLimit, 'data.');
  const ephemeralIn = (flags: number | null | undefined): boolean => ((flags ?? 0) & MessageFlags.Ephemeral) !== 0;
  switch (type) {
    case R.ChannelMessageWithSource: {
      const reply = write();
      handle.setOriginal(createResponse(backend, handle, reply, 0));
      return ephemeralIn(reply.flags);
    }
    case R.DeferredChannelMessageWithSource: {
      const flags = isJsonObject(data) && typeof data['flags'] === 'number' ? data['flags'] : 0;
      const ephemeral = ephemeralIn(flags);
      const placeholder = { files: [] };
      handle.setOriginal(createResponse(backend, handle, placeholder, MessageFlags.Loading | (ephemeral ? MessageFlags.Ephemeral : 0)));
      return ephemeral;
    }
    case R.DeferredMessageUpdate:
    case R.UpdateMessage: {
      const source = handle.sourceMessage;
      if (!source) throw invalidType(`Type ${type} needs an interaction from a message`);
      if (type === R.UpdateMessage) backend.messages.edit(source, write());
      handle.setOriginal(source);
      return source.ephemeral;
    }
    case R.ApplicationCommandAutocompleteResult: {
      const { choices } = parseFormBody(choicesSchema, data, 'data.');
      const problems = choiceProblems(choices);
      if (problems.length > 0) throw DiscordErrors.invalidFormBody(problems);
      handle.setChoices(choices);
      return false;
    }
    case R.Modal: {
      const modal = parseFormBody(modalSchema, data, 'data.');
      const problems = modalProblems(modal);
      if (problems.length > 0) throw DiscordErrors.invalidFormBody(problems);
      handle.setModal(modal);
      return false;
    }
    default:
      throw invalidType(`Response type ${type} is not supported by the fake`);
  }
}

function invalidType(message: string): Error {
  return DiscordErrors.invalidFormBody([{ path: 'type', code: 'INTERACTION_RESPONSE_TYPE_INVALID', message }]);
}

/** The body of a callback asked `with_response=true` (discord.js `withResponse: true`). */
function callbackResponse(backend: Backend, handle: InteractionHandle, type: InteractionResponseType): object {
  const message = type === R.ChannelMessageWithSource || type === R.DeferredChannelMessageWithSource || type === R.UpdateMessage
    ? handle.original
    : undefined;
  return {
    interaction: {
      id: handle.id,
      type: handle.payload['type'],
      ...(message
        ? { response_message_id: message.id, response_message_loading: message.loading, response_message_ephemeral: message.ephemeral }
        : {}),
    },
    resource: { type, ...(message ? { message: message.toApi(backend.world.bot.id) } : {}) },
  };
}
