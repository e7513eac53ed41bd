import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startApp, type App } from '../../src/app.js';
import { DEFAULTS_PATH, readDefaults, readEnv, type AppConfig, type ProductDefaults } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { FakeDiscord, type FakeDiscordOptions } from './fake-discord/index.js';
import { processTempDir } from './temp-dir.js';

export interface BotHarnessOptions {
  /** An already running fake Discord (to restart the bot against the same world). */
  readonly fake?: FakeDiscord;
  readonly fakeOptions?: FakeDiscordOptions;
  /** The store to use (to restart the bot on the same data). @default a fresh SQLite file */
  readonly storeUrl?: string;
  /** Extra environment variables, e.g. `QUEUE_CONCURRENCY`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Changes to `config/default.json`'s values. */
  readonly defaults?: (defaults: ProductDefaults) => ProductDefaults;
}

export interface BotHarness {
  readonly fake: FakeDiscord;
  readonly app: App;
  readonly storeUrl: string;
  /** Every log line the bot wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Stops the bot (gracefully); the fake keeps running. */
  stopBot(): Promise<void>;
  /** Stops the bot and the fake. */
  stop(): Promise<void>;
}

/**
 * Starts the real bot (`startApp`, the same composition `npm start` runs) with the tiny fixture model on the CPU,
 * against a fake Discord on 127.0.0.1.
 */
export async function startBot(options: BotHarnessOptions = {}): Promise<BotHarness> {
  const fake = options.fake ?? (await FakeDiscord.start(options.fakeOptions));
  const storeUrl = options.storeUrl ?? `sqlite://${join(processTempDir('dreamcord-bot-'), 'dreamcord.sqlite')}`;
  const env = readEnv({
    DISCORD_TOKEN: fake.token,
    DISCORD_API_BASE: fake.apiBase,
    DISCORD_GUILD_ID: fake.guild.id,
    MODEL_DIR: 'test/fixtures/tiny-sd',
    EXECUTION_PROVIDER: 'cpu',
    STORE_URL: storeUrl,
    LOG_LEVEL: 'debug',
    ...options.env,
  });
  const base = readDefaults(DEFAULTS_PATH);
  const config: AppConfig = { env, defaults: options.defaults ? options.defaults(base) : base };
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger({ level: 'debug', secrets: [fake.token], destination });
  const app = await startApp(config, log);
  let stopped = false;
  const stopBot = async () => {
    if (stopped) return;
    stopped = true;
    await app.stop();
  };
  return {
    fake,
    app,
    storeUrl,
    logs,
    stopBot,
    async stop() {
      await stopBot();
      await fake.stop();
    },
  };
}

/** Small, fast generation options for the tiny model (64×64, few steps). */
export const FAST = { width: 64, height: 64, steps: 4 } as const;
