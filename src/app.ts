import { ConfigError, readExplicitTerms, type AppConfig, type EnvConfig } from './config/index.js';
import { isCheckpointError } from './checkpoint/index.js';
import { isConvertError } from './convert/errors.js';
import { prepareModel } from './convert/model-cache.js';
import { listLoras } from './networks/index.js';
import type { Logger } from './log.js';
import type { ModelLabel } from './generator/generator.js';
import { basename } from 'node:path';
import { DiscordBot } from './discord/bot.js';
import { Cooldowns } from './jobs/cooldowns.js';
import { ImageInputs } from './inputs/image-inputs.js';
import { InputStore } from './inputs/input-store.js';
import { JobService } from './jobs/job-service.js';
import { ContentScreen } from './jobs/content-screen.js';
import { WorkerClassifier } from './content/content-classifier.js';
import { SupervisedGenerator } from './generator/supervised-generator.js';
import { WorkerGenerator } from './generator/worker-generator.js';
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
    const explicitTerms = readExplicitTerms();
    const store = await Store.open(env.STORE_URL);
    opened.push(() => store.close());
    // Before Discord: while a checkpoint converts, no command is registered and nobody can queue a job.
    const main = await modelFolder('MODEL_DIR', env.MODEL_DIR, env, log);
    const inpaint =
      env.INPAINT_MODEL_DIR === undefined ? undefined : await modelFolder('INPAINT_MODEL_DIR', env.INPAINT_MODEL_DIR, env, log);
    const modelDir = main.dir;
    const inpaintModelDir = inpaint?.dir;
    const modelLabels = Object.fromEntries([main, ...(inpaint ? [inpaint] : [])].map((m) => [m.dir, m.label]));
    const started = Date.now();
    const generator = await SupervisedGenerator.start({
      provider: env.EXECUTION_PROVIDER,
      load: (provider) =>
        WorkerGenerator.start(
          { modelDir, inpaintModelDir, embeddingsDir: env.EMBEDDINGS_DIR, loraDir: env.LORA_DIR, provider, modelLabels },
          (level, message, fields) => log[level](fields, message),
        ),
      log,
    });
    generator.on('health', (health) => log.info({ health }, 'image pipeline health changed'));
    opened.push(() => generator.close());
    log.info({ model: generator.modelName, providers: generator.providers, loadMs: Date.now() - started }, 'model loaded');
    const settings = await SettingsStore.open(store, defaults);
    // Never fails the start: a classifier that cannot load leaves the policy blocking every flagged-by-default result.
    const classifier = await WorkerClassifier.start({ modelDir: env.NSFW_MODEL }, (level, message, fields) => log[level](fields, message));
    opened.push(() => classifier.close());
    const screen = new ContentScreen(classifier, settings);
    const inputStore = await InputStore.open(store);
    const jobs = await JobService.open({
      store,
      generator,
      inputs: inputStore,
      concurrency: env.QUEUE_CONCURRENCY,
      maxQueued: defaults.queue.maxQueued,
      jobTimeoutMs: defaults.queue.jobTimeoutSeconds * 1000,
      screen,
    });
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
      nativeSize: generator.nativeSize,
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
        requestDefaults: {
          ...defaults.generation,
          nativeSize: generator.nativeSize,
          sizeBuckets: generator.sizeBuckets,
          maxClipSkip: generator.maxClipSkip,
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
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Logged conversion progress every this many percent. */
const PROGRESS_LOG_STEP = 10;

/** A1111's short model hash: the first 10 hex digits of the checkpoint's sha256. */
const SHORT_HASH_DIGITS = 10;

/**
 * The ONNX folder for the model `variable` names: as given, from the model cache, or converted now (logging its
 * progress), with how members see it (the source's name without `.safetensors`, and its short hash). A model that
 * cannot be used becomes a ConfigError: one line naming the variable and the problem.
 */
async function modelFolder(
  variable: string,
  source: string,
  env: EnvConfig,
  log: Logger,
): Promise<{ dir: string; label: ModelLabel }> {
  const started = Date.now();
  let logged = -PROGRESS_LOG_STEP;
  try {
    const prepared = await prepareModel(source, {
      cacheDir: env.MODEL_CACHE_DIR,
      dtype: env.MODEL_DTYPE,
      onConvert: () => log.info({ model: source, cacheDir: env.MODEL_CACHE_DIR, dtype: env.MODEL_DTYPE }, 'converting the checkpoint to ONNX (once)'),
      onProgress: ({ component, fraction }) => {
        const percent = Math.floor(fraction * 100);
        if (percent < logged + PROGRESS_LOG_STEP) return;
        logged = percent - (percent % PROGRESS_LOG_STEP);
        log.info({ model: source, component, percent: logged }, 'converting the checkpoint');
      },
      onWarning: (message) => log.warn({ model: source }, message),
    });
    const ms = Date.now() - started;
    if (prepared.converted) log.info({ model: source, dir: prepared.dir, seconds: Math.round(ms / 100) / 10 }, 'checkpoint converted');
    else if (prepared.dir !== source) log.info({ model: source, dir: prepared.dir, ms }, 'using the cached conversion');
    const name = basename(source.replace(/[\\/]+$/, '')).replace(/\.safetensors$/i, '');
    return { dir: prepared.dir, label: { name, hash: prepared.sha256?.slice(0, SHORT_HASH_DIGITS) } };
  } catch (error) {
    if (isCheckpointError(error) || isConvertError(error)) {
      throw new ConfigError(`${variable} cannot be used: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
