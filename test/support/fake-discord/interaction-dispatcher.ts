import { randomBytes } from 'node:crypto';
import { ComponentType, GatewayDispatchEvents, InteractionType } from 'discord.js';
import type { Backend } from './backend.js';
import type { FakeMessage } from './fake-message.js';
import { InteractionHandle, type InteractionKind } from './interaction-handle.js';
import { commandData, interactionEnvelope, type InteractionPlace, type OptionValues, type RawOption } from './interaction-payloads.js';
import type { Publish } from './publish.js';
import type { FakeChannel, FakeMember } from './world.js';

/** Who acts, and where; both default to the fake's default channel and member. */
export interface Actor {
  readonly channel?: FakeChannel;
  readonly user?: FakeMember;
}

/** A member running a slash command. */
export interface CommandInvocation extends Actor {
  readonly name: string;
  /** Option values by name; attachments come from `uploadAttachment`. */
  readonly options?: OptionValues;
  /** `'sub'`, or `'group sub'`. */
  readonly subcommand?: string;
  /** A modified client's `data.options`, unchecked (see `CommandSpec.rawOptions`). */
  readonly rawOptions?: readonly RawOption[];
}

/** A member typing into an autocomplete option. */
export interface AutocompleteInvocation extends CommandInvocation {
  /** The option being typed; its value in `options` is the text so far. */
  readonly focused: string;
}

/** A member clicking a button of a message. */
export interface ButtonClick {
  readonly message: FakeMessage;
  readonly customId: string;
  readonly user?: FakeMember;
  /** A modified client's click: `customId` need not be a button of `message`, which may be deleted (Discord checks both). */
  readonly forged?: boolean;
}

/** A member submitting a modal the bot opened. */
export interface ModalSubmission extends Actor {
  readonly customId: string;
  /** Text input values by custom id. */
  readonly fields: Readonly<Record<string, string>>;
  /** The message whose button opened the modal, if any. */
  readonly message?: FakeMessage;
}

/** Builds and dispatches INTERACTION_CREATE events, and registers a handle for each. */
export class InteractionDispatcher {
  readonly #backend: Backend;
  readonly #publish: Publish;
  readonly #defaults: InteractionPlace;

  constructor(backend: Backend, publish: Publish, defaults: InteractionPlace) {
    this.#backend = backend;
    this.#publish = publish;
    this.#defaults = defaults;
  }

  /** A chat-input command (type 2). */
  command(spec: CommandInvocation): InteractionHandle {
    const place = this.#place(spec);
    const command = this.#backend.commands.findChatInput(spec.name, place.channel.guildId);
    return this.#dispatch('command', InteractionType.ApplicationCommand, place, {
      data: commandData(this.#backend.world, place, command, spec),
    });
  }

  /** An autocomplete request (type 4). */
  autocomplete(spec: AutocompleteInvocation): InteractionHandle {
    const place = this.#place(spec);
    const command = this.#backend.commands.findChatInput(spec.name, place.channel.guildId);
    return this.#dispatch('autocomplete', InteractionType.ApplicationCommandAutocomplete, place, {
      data: commandData(this.#backend.world, place, command, spec),
    });
  }

  /** A button click (type 3) carrying the full message; throws if the message has no such button. */
  button(spec: ButtonClick): InteractionHandle {
    const { message, customId } = spec;
    if (!spec.forged && (message.deleted || !message.customIds.includes(customId))) {
      throw new Error(`Message ${message.id} has no button "${customId}" to click (it has ${JSON.stringify(message.customIds)})`);
    }
    const place = this.#place({ channel: this.#channelOf(message), user: spec.user });
    return this.#dispatch(
      'button',
      InteractionType.MessageComponent,
      place,
      { message: message.toApi(this.#backend.world.bot.id), data: { custom_id: customId, component_type: ComponentType.Button } },
      message,
    );
  }

  /** A modal submission (type 5). */
  modal(spec: ModalSubmission): InteractionHandle {
    const place = this.#place(spec.message ? { channel: this.#channelOf(spec.message), user: spec.user } : spec);
    const components = Object.entries(spec.fields).map(([id, value]) => ({
      type: ComponentType.ActionRow,
      components: [{ type: ComponentType.TextInput, custom_id: id, value }],
    }));
    return this.#dispatch(
      'modal-submit',
      InteractionType.ModalSubmit,
      place,
      {
        data: { custom_id: spec.customId, components },
        ...(spec.message ? { message: spec.message.toApi(this.#backend.world.bot.id) } : {}),
      },
      spec.message,
    );
  }

  #dispatch(
    kind: InteractionKind,
    type: InteractionType,
    place: InteractionPlace,
    fields: Record<string, unknown>,
    sourceMessage?: FakeMessage,
  ): InteractionHandle {
    const { ids, clock, attachmentSizeLimit, world } = this.#backend;
    const id = ids.next();
    const token = `fake-interaction-token.${randomBytes(24).toString('base64url')}`;
    const payload = { ...interactionEnvelope(world, place, { id, token, type, attachmentSizeLimit }), ...fields };
    const handle = new InteractionHandle(
      { id, token, kind, payload, dispatchedAt: clock.now(), channelId: place.channel.id, user: place.member.user, sourceMessage },
      this.#backend.changes,
    );
    this.#backend.interactions.add(handle);
    this.#publish(GatewayDispatchEvents.InteractionCreate, payload);
    return handle;
  }

  #place(actor: Actor): InteractionPlace {
    const channel = actor.channel ?? this.#defaults.channel;
    const member = actor.user ?? this.#defaults.member;
    if (member.guildId !== channel.guildId) {
      throw new Error(`${member.user.username} is not a member of the guild of #${channel.name}`);
    }
    return { channel, member };
  }

  #channelOf(message: FakeMessage): FakeChannel {
    const channel = this.#backend.world.findChannel(message.channelId);
    if (!channel) throw new Error(`Message ${message.id} is in unknown channel ${message.channelId}`);
    return channel;
  }
}
