import { ApplicationIntegrationType, InteractionType, MessageType, type APIMessageInteractionMetadata } from 'discord.js';
import type { Backend } from './backend.js';
import { DiscordErrors } from './discord-error.js';
import type { FakeMessage } from './fake-message.js';
import type { InteractionHandle } from './interaction-handle.js';
import type { MessageWrite } from './message-write.js';
import type { FakeChannel } from './world.js';

/** A message sent in response to `handle` (reply, deferred placeholder or follow-up), through the application's webhook. */
export function createResponse(backend: Backend, handle: InteractionHandle, write: MessageWrite, flags: number): FakeMessage {
  const channel = channelOf(backend, handle);
  return backend.messages.create({
    channel,
    author: backend.world.bot,
    write,
    flags,
    type: handle.kind === 'command' ? MessageType.ChatInputCommand : MessageType.Default,
    applicationId: backend.world.application.id,
    interactionMetadata: metadataOf(handle, channel),
  });
}

function channelOf(backend: Backend, handle: InteractionHandle): FakeChannel {
  const channel = backend.world.findChannel(handle.channelId);
  if (!channel) throw DiscordErrors.unknownChannel();
  return channel;
}

function metadataOf(handle: InteractionHandle, channel: FakeChannel): APIMessageInteractionMetadata {
  const base = {
    id: handle.id,
    user: handle.user,
    authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: channel.guildId },
  };
  return handle.sourceMessage
    ? { ...base, type: InteractionType.MessageComponent, interacted_message_id: handle.sourceMessage.id }
    : { ...base, type: InteractionType.ApplicationCommand };
}
