import { readExplicitTerms, type AppConfig } from './config/index.js';
import { listLoras } from './networks/index.js';
import type { Logger } from './log.js';
import { DiscordBot } from './discord/bot.js';
import { Cooldowns } from './jobs/cooldowns.js';
import { ImageInputs } from './inputs/image-inputs.js';
import { InputStore } from './inputs/input-store.js';
import { JobService } from './jobs/job-service.js';
import { ContentScreen } from './jobs/content-screen.js';
import { WorkerClassifier } from './content/content-classifier.js';
import { SettingsService } from './settings/settings-service.js';
import { SettingsStore } from './settings/settings-store.js';
import { Store } from './store/index.js';
import { ModelPool } from './generator/model-pool.js';
import { startModelPool } from './local-pipeline.js';
import type { QueueInspection } from './queue/index.js';
import type { RemoteGenerator } from './gpu-workers/remote-generator.js';

/** A running dreamcord: stop it to shut down cleanly. */
export interface App {
  /**
   * Graceful shutdown: stop taking requests (members are told the bot is restarting), checkpoint running jobs
   * as queued so they resume first at the next start, then close the gateway and the store.
   */
  stop(): Promise<void>;
  /** The job queue's bookkeeping now (its counts, waiting and running jobs), for a report on a job that seems stuck. */
  inspectQueue(): QueueInspection;
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
    const explicitTerms = readExplicitTerms();
    const store = await Store.open(env.STORE_URL);
    opened.push(() => store.close());
    // The content classifier loads on its thread while the models load (~1.5 s less to the first command). It never
    // fails the start: a classifier that cannot load leaves the policy blocking every flagged-by-default result.
    const classifierStarting = WorkerClassifier.start({ modelDir: env.NSFW_MODEL }, (level, message, fields) => log[level](fields, message));
    opened.push(async () => (await classifierStarting).close());
    // Before Discord: while a checkpoint converts (or the first GPU worker registers), no command is registered and
    // nobody can queue a job.
    const started = Date.now();
    const generator = env.QUEUE_URL === undefined ? await startModelPool(env, log) : await connectWorkers(env.QUEUE_URL, env.WORKER_GONE_SECONDS, log);
    generator.on('health', (health) => log.info({ health }, 'image pipeline health changed'));
    opened.push(() => generator.close());
    log.info({ models: generator.models.map((model) => model.name), health: generator.health, loadMs: Date.now() - started }, 'models ready');
    const settings = await SettingsStore.open(store, defaults);
    const classifier = await classifierStarting;
    const screen = new ContentScreen(classifier, settings);
    const inputStore = await InputStore.open(store);
    const jobs = await JobService.open({
      store,
      generator,
      inputs: inputStore,
      concurrency: generator instanceof ModelPool ? env.QUEUE_CONCURRENCY : generator.capacity,
      batchMaxRows: env.BATCH_MAX_ROWS,
      maxQueued: defaults.queue.maxQueued,
      jobTimeoutMs: defaults.queue.jobTimeoutSeconds * 1000,
      screen,
    });
    // GPU workers joining, leaving or changing models change which jobs can run; the bot's queue keeps the order.
    if (!(generator instanceof ModelPool)) {
      generator.on('capacity', (capacity) => jobs.resize(capacity));
      generator.on('models', () => void jobs.modelsChanged().catch((error: unknown) => log.error({ err: error }, 'waiting jobs could not be updated')));
    }
    jobs.on('error', (error) => log.error({ err: error }, 'the job queue could not write to the store'));
    jobs.on('completed', (record) => log.info({ jobId: record.id, messageId: record.messageId }, 'job answered'));
    jobs.on('screened', (record, screening) => {
      const { guildId, channelId, userId } = record.origin;
      log.warn({ audit: 'content-policy', guildId, channelId, userId, jobId: record.id, ...screening }, 'content policy: result flagged');
    });
    jobs.on('blocked', (record) => log.info({ jobId: record.id, messageId: record.messageId }, 'job withheld by the content policy'));
    jobs.on('failed', (record) => log.warn({ jobId: record.id, userId: record.origin.userId, failure: record.failure }, 'job failed'));
    const { attachments } = defaults;
    const imageInputs = new ImageInputs({
      store: inputStore,
      attachments: {
        maxBytes: attachments.maxDownloadBytes,
        maxPixels: attachments.maxInputPixels,
        timeoutMs: attachments.downloadTimeoutSeconds * 1000,
      },
      maskBlur: defaults.generation.maskBlur,
      // Uploads are kept at the largest size any model works at; each job scales them to its own model's.
      nativeSize: Math.max(...generator.models.map((model) => model.nativeSize)),
    });
    const bot = await DiscordBot.start(
      {
        token: env.DISCORD_TOKEN,
        apiBase: env.DISCORD_API_BASE,
        guildId: env.DISCORD_GUILD_ID,
        store,
        editIntervalMs: defaults.discord.progressEditIntervalSeconds * 1000,
        pipeline: generator,
      },
      {
        jobs,
        settings,
        settingsService: new SettingsService(settings),
        log,
        cooldowns: new Cooldowns(),
        inputs: imageInputs,
        contentScreen: screen,
        explicitTerms,
        gpus:
          generator instanceof ModelPool
            ? {
                gpus: () => [
                  {
                    worker: undefined,
                    provider: generator.health.provider,
                    // The models loaded now (each loads on its first use).
                    models: generator.loadedModels,
                    capacity: env.QUEUE_CONCURRENCY,
                    running: jobs.stats().running,
                    jobIds: [],
                  },
                ],
              }
            : generator,
        requestDefaults: {
          ...defaults.generation,
          models: () => generator.models,
          loras: env.LORA_DIR === undefined ? [] : listLoras(env.LORA_DIR),
        },
      },
    );
    opened.push(() => bot.destroy());
    // Closed first, while the gateway is still open: new requests are told the bot is restarting, those under way
    // finish, and running jobs are checkpointed as queued (they resume first at the next start).
    opened.push(() => {
      bot.stopTakingRequests();
      return jobs.close({ drain: false });
    });
    log.info('dreamcord is ready');
    return {
      async stop() {
        await closeAll();
        log.info('stopped');
      },
      inspectQueue: () => jobs.inspectQueue(),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The GPU workers behind the queue at `url`. Their client (BullMQ, ioredis) is imported here rather than at the top:
 * it takes ~0.5 s to import, which a bot running its own models need not pay at every start.
 */
async function connectWorkers(url: string, goneSeconds: number | undefined, log: Logger): Promise<RemoteGenerator> {
  const { RemoteGenerator } = await import('./gpu-workers/remote-generator.js');
  return RemoteGenerator.connect(url, log, goneSeconds && goneSeconds * 1000);
}
