// The composition root: validate configuration, then build the store (and, as they land, the pipeline, the
// queue and the Discord client) and wire them together. Heavy modules are imported only after the configuration
// is known to be good, so a missing variable is reported within a fraction of a second.
import { config as loadDotenv } from 'dotenv';
import { ConfigError, loadConfig, type AppConfig } from './config/index.js';
import { createLogger } from './log.js';

function readConfiguration(): AppConfig {
  loadDotenv({ quiet: true });
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`dreamcord: ${error.message} (see .env.example)\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = readConfiguration();
  const log = createLogger({ level: config.env.LOG_LEVEL, secrets: [config.env.DISCORD_TOKEN] });
  const { Store } = await import('./store/index.js');
  const store = await Store.open(config.env.STORE_URL);
  log.info({ store: config.env.STORE_URL.split('://')[0] }, 'store opened');
  // The Discord bot (issue "The Discord bot: /imagine …") is not built yet: nothing more to start.
  log.warn('the Discord bot is not built yet; exiting after the configuration and store checks');
  await store.close();
}

await main();
