import { DiscordAPIError, Events, RESTJSONErrorCodes, type Client, type Interaction } from 'discord.js';
import type { CommandContext, SlashCommand } from './command.js';
import { handleButton } from './buttons.js';
import { autocompleteMismatch, commandMismatch } from './interaction-guard.js';
import { handleReaction } from './reactions.js';
import { replyPrivately } from './replies.js';

/**
 * Routes Discord events to their handlers, each inside one catch: a failure is logged with its context and the
 * member gets a short message with a reference, never a stack trace.
 */
export class Router {
  readonly #commands: ReadonlyMap<string, SlashCommand>;
  readonly #context: CommandContext;
  /** Handlers under way, which shutdown lets finish before it closes what they use. */
  readonly #handling = new Set<Promise<void>>();
  /** `starting` until the job service runs (requests before that are told to wait a moment). */
  #state: 'starting' | 'open' | 'closing' = 'starting';

  constructor(client: Client, commands: readonly SlashCommand[], context: CommandContext) {
    this.#commands = new Map(commands.map((command) => [command.data.name, command]));
    this.#context = context;
    client.on(Events.InteractionCreate, (interaction) => this.#track(this.#route(interaction)));
    client.on(Events.MessageReactionAdd, (reaction, user) => {
      if (this.#state !== 'open') return;
      this.#track(
        handleReaction(reaction, user, context).catch((error: unknown) =>
          context.log.error({ err: error, messageId: reaction.message.id }, 'reaction handler failed'),
        ),
      );
    });
  }

  /** Starts taking requests: the job service is running. */
  open(): void {
    this.#state = 'open';
  }

  /** From now on, new requests are told the bot is restarting. */
  close(): void {
    this.#state = 'closing';
  }

  /** Resolves when no handler is under way (each request either queued its job, or was answered). */
  async idle(): Promise<void> {
    while (this.#handling.size > 0) await Promise.all(this.#handling);
  }

  #track(handling: Promise<void>): void {
    this.#handling.add(handling);
    void handling.finally(() => this.#handling.delete(handling));
  }

  async #route(interaction: Interaction): Promise<void> {
    try {
      if (interaction.isAutocomplete()) {
        const command = this.#commands.get(interaction.commandName);
        const mismatch = command && autocompleteMismatch(command.data, interaction.options.data);
        if (mismatch) {
          this.#context.log.warn({ command: command.data.name, interactionId: interaction.id, mismatch }, 'autocomplete refused: options do not match its definition');
          await interaction.respond([]);
          return;
        }
        await command?.autocomplete?.(interaction, this.#context);
        return;
      }
      if (!interaction.isRepliable()) return;
      if (this.#state !== 'open') {
        const when = this.#state === 'starting' ? 'starting up. Please try again in a few seconds.' : 'restarting. Please try again in a minute.';
        await replyPrivately(interaction, `dreamcord is ${when}`);
        return;
      }
      if (interaction.isChatInputCommand()) {
        const command = this.#commands.get(interaction.commandName);
        if (!command) {
          this.#context.log.warn({ command: interaction.commandName }, 'unknown command');
          await replyPrivately(interaction, "I don't know that command any more.");
          return;
        }
        const mismatch = commandMismatch(command.data, interaction.options.data);
        if (mismatch) {
          this.#context.log.warn({ command: command.data.name, interactionId: interaction.id, mismatch }, 'command refused: options do not match its definition');
          await replyPrivately(interaction, mismatch);
          return;
        }
        await command.execute(interaction, this.#context);
      } else if (interaction.isButton()) {
        await handleButton(interaction, this.#context);
      }
    } catch (error) {
      await this.#fail(interaction, error);
    }
  }

  async #fail(interaction: Interaction, error: unknown): Promise<void> {
    const reference = interaction.id;
    if (error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.UnknownInteraction) {
      // Acknowledged too late (over 3 s): the token is dead, and retrying only repeats the error.
      this.#context.log.error({ interactionId: reference }, 'interaction expired before it was acknowledged');
      return;
    }
    this.#context.log.error({ err: error, interactionId: reference }, 'interaction handler failed');
    if (!interaction.isRepliable()) return;
    await replyPrivately(interaction, `Something went wrong on my side (reference \`${reference}\`). Please try again.`).catch(
      (replyError: unknown) => this.#context.log.warn({ err: replyError, interactionId: reference }, 'could not report the failure'),
    );
  }
}
