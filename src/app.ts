import type { AppConfig } from './config/index.js';
import type { Logger } from './log.js';
import { DiscordBot } from './discord/bot.js';
import { Cooldowns } from './jobs/cooldowns.js';
import { JobService } from './jobs/job-service.js';
import { WorkerGenerator } from './jobs/worker-generator.js';
import { SettingsService } from './settings/settings-service.js';
import { SettingsStore } from './settings/settings-store.js';
import { Store } from './store/index.js';

/** A running dreamcord: stop it to shut down cleanly. */
export interface App {
  /**
   * Graceful shutdown: stop taking requests (members are told the bot is restarting), checkpoint running jobs
   * as queued so they resume first at the next start, then close the gateway and the store.
   */
  stop(): Promise<void>;
}

/** Builds and starts every part: store → pipeline → settings and jobs → Discord. */
export async function startApp(config: AppConfig, log: Logger): Promise<App> {
  const { env, defaults } = config;
  // What has been opened so far, closed in reverse order on shutdown or when a later part fails to start.
  const opened: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of opened.reverse()) await close();
  };
  try {
    const store = await Store.open(env.STORE_URL);
    opened.push(() => store.close());
    const started = Date.now();
    const generator = await WorkerGenerator.start(
      { modelDir: env.MODEL_DIR, provider: env.EXECUTION_PROVIDER },
      (level, message, fields) => log[level](fields, message),
    );
    opened.push(() => generator.close());
    log.info({ model: generator.modelName, providers: generator.providers, loadMs: Date.now() - started }, 'model loaded');
    const settings = await SettingsStore.open(store, defaults);
    const jobs = await JobService.open({
      store,
      generator,
      concurrency: env.QUEUE_CONCURRENCY,
      maxQueued: defaults.queue.maxQueued,
      jobTimeoutMs: defaults.queue.jobTimeoutSeconds * 1000,
    });
    jobs.on('error', (error) => log.error({ err: error }, 'the job queue could not write to the store'));
    const bot = await DiscordBot.start(
      {
        token: env.DISCORD_TOKEN,
        apiBase: env.DISCORD_API_BASE,
        guildId: env.DISCORD_GUILD_ID,
        store,
        editIntervalMs: defaults.discord.progressEditIntervalSeconds * 1000,
      },
      { jobs, settings, settingsService: new SettingsService(settings), log, cooldowns: new Cooldowns() },
    );
    opened.push(() => bot.destroy());
    // Closed first: running jobs are checkpointed as queued (they resume first at the next start) while the
    // gateway is still open.
    opened.push(() => jobs.close({ drain: false }));
    return {
      async stop() {
        bot.stopTakingRequests();
        await closeAll();
        log.info('stopped');
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
