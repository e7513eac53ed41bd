import { Client, Events, GatewayIntentBits, Partials } from 'discord.js';
import { COMMANDS } from './commands/index.js';
import type { CommandContext } from './interactions/command.js';
import type { PipelineHealthSource } from '../generator/pipeline-health.js';
import type { Store } from '../store/index.js';
import { DiscordPresenter } from './delivery/presenter.js';
import { registerCommands } from './register-commands.js';
import { Router } from './interactions/router.js';
import { showPipelineHealth } from './status.js';

export interface DiscordBotOptions {
  readonly token: string;
  /** REST base URL (tests point it at a fake Discord); the gateway URL then comes from that server. */
  readonly apiBase?: string | undefined;
  /** Register commands in this guild only. */
  readonly guildId?: string | undefined;
  readonly store: Store;
  /** Minimum time between two edits of one job's message, ms. */
  readonly editIntervalMs: number;
  /** The image pipeline's health, shown as the bot's presence. */
  readonly pipeline: PipelineHealthSource;
}

/** The Discord side of dreamcord: the gateway client, the command router and the job presenter. */
export class DiscordBot {
  readonly #client: Client<true>;
  readonly #router: Router;
  readonly #presenter: DiscordPresenter;
  /** Stops showing the pipeline's health as the presence. */
  readonly #stopShowingHealth: () => void;

  private constructor(client: Client<true>, router: Router, presenter: DiscordPresenter, stopShowingHealth: () => void) {
    this.#client = client;
    this.#router = router;
    this.#presenter = presenter;
    this.#stopShowingHealth = stopShowingHealth;
  }

  /** Logs in, registers the slash commands, and starts the job service with the Discord presenter. */
  static async start(options: DiscordBotOptions, context: CommandContext): Promise<DiscordBot> {
    const client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions],
      // Reactions on messages sent before a restart arrive uncached: partials let them through.
      partials: [Partials.Message, Partials.Channel, Partials.Reaction, Partials.User],
      rest: options.apiBase ? { api: options.apiBase } : {},
      // Nothing the bot writes pings anyone unless a message says whom: prompts may contain @everyone.
      allowedMentions: { parse: [], repliedUser: false },
    });
    const router = new Router(client, COMMANDS, context);
    client.on(Events.Error, (error) => context.log.error({ err: error }, 'discord client error'));
    client.on(Events.ShardReconnecting, () => context.log.warn('gateway reconnecting'));
    client.on(Events.ShardResume, () => context.log.info('gateway resumed'));
    try {
      const readyClient = await logIn(client, options.token);
      context.log.info({ user: readyClient.user.tag }, 'logged in to Discord');
      await registerCommands(readyClient, COMMANDS.map((command) => command.data), {
        guildId: options.guildId,
        store: options.store,
        log: context.log,
      });
      const stopShowingHealth = showPipelineHealth(readyClient.user, options.pipeline);
      const presenter = new DiscordPresenter(readyClient, context.jobs, context.log, options.editIntervalMs);
      await context.jobs.start(presenter);
      router.open();
      return new DiscordBot(readyClient, router, presenter, stopShowingHealth);
    } catch (error) {
      await client.destroy(); // a half-started client would keep the process alive
      throw error;
    }
  }

  /** Stops taking new requests: members are told the bot is restarting. */
  stopTakingRequests(): void {
    this.#router.close();
  }

  /** Lets the requests and job messages under way finish, then closes the gateway connection. */
  async destroy(): Promise<void> {
    await this.#router.idle();
    await this.#presenter.close();
    // The pipeline outlives the client on shutdown: its health changes no longer reach a closed gateway.
    this.#stopShowingHealth();
    await this.#client.destroy();
  }
}

async function logIn(client: Client, token: string): Promise<Client<true>> {
  const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(token);
  return ready;
}
