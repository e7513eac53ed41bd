// The executable: read the configuration (failing fast with one clear line), start every part, and shut down
// cleanly on SIGINT/SIGTERM. Heavy modules load only after the configuration is known to be good, so a missing
// variable is reported within a fraction of a second.
import { config as loadDotenv } from 'dotenv';
import { ConfigError, loadConfig, type AppConfig } from './config/index.js';
import { createLogger } from './log.js';

/** Shutdown must finish within this, or the process exits anyway (a stuck GPU call must not hang a restart). */
const SHUTDOWN_LIMIT_MS = 10_000;

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

const config = readConfiguration();
const log = createLogger({ level: config.env.LOG_LEVEL, secrets: [config.env.DISCORD_TOKEN] });
// Node's own report of an uncaught error goes to stderr unredacted; these go through the scrubbing logger. A
// stray rejection is a bug to log, not a reason to drop every member's job; an uncaught exception leaves the
// process in an unknown state, so it stops (the jobs resume at the next start).
process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception; exiting');
  process.exit(1);
});
const { startApp } = await import('./app.js');
let app: Awaited<ReturnType<typeof startApp>> | undefined;
let stopping = false;

/** Stops the app (once it has started) and exits 0, or 1 when that fails or takes longer than the limit. */
function stop(started: NonNullable<typeof app>): void {
  started.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
}

// Listening before the start, not after it: a signal that arrives while the app starts (a conversion can take a
// minute) or the instant it is ready must not meet the default handler, which kills the process mid-write.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    if (app) stop(app);
  });
}

try {
  app = await startApp(config, log);
} catch (error) {
  if (error instanceof ConfigError) {
    // A model that cannot be used (missing, a LoRA, a damaged download, …): one line, no stack trace.
    process.stderr.write(`dreamcord: ${error.message}\n`);
  } else {
    log.fatal({ err: error }, 'dreamcord could not start');
  }
  process.exit(1);
}
// A signal that came during the start is acted on now that there is an app to stop.
if (stopping) stop(app);
