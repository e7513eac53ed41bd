import { hostname } from 'node:os';
import { config as loadDotenv } from 'dotenv';
import { readWorkerEnv } from '../config/index.js';
import { startModelPool } from '../local-pipeline.js';
import { GpuWorker } from '../gpu-workers/gpu-worker.js';
import { createLogger } from '../log.js';
import { UsageError, type CliCommand } from './command.js';

const USAGE = `Usage: dreamcord worker

Runs a bot's jobs on this machine's GPU. Reads the same .env as the bot:
  QUEUE_URL             the Redis the bot hands jobs over (redis://user:password@host:port, rediss:// for TLS)
  MODEL_DIR, MODELS_DIR the models it serves (as the bot's: MODEL_DIR's loaded at start, MODELS_DIR's on first use,
                        within MODEL_MEMORY_GB); it takes jobs for these only. EXECUTION_PROVIDER, MODEL_CACHE_DIR, …
  WORKER_NAME           how the bot and the logs name this worker (default: host name and process id)
  WORKER_CONCURRENCY    batches run at once, over all its models (default 1; a batch is one job or more)
  BATCH_MAX_ROWS        UNet rows it runs as one batch of the bot's compatible jobs (default 8; 0 or 1: one job at a
                        time); the bot fills a batch up to the smaller of its own BATCH_MAX_ROWS and this
  WORKER_LEASE_SECONDS  how long before another worker takes over the job of a worker that died (default 30)
No Discord token is needed, or read. Stop it with Ctrl-C or SIGTERM: it finishes its running jobs first.`;

export const workerCommand: CliCommand = {
  name: 'worker',
  summary: "run a bot's jobs on this machine's GPU (QUEUE_URL)",
  usage: USAGE,
  async run(argv) {
    if (argv.length > 0) throw new UsageError(`Unexpected argument "${argv[0]}".`);
    loadDotenv({ quiet: true });
    const env = readWorkerEnv(process.env);
    const log = createLogger({ level: env.LOG_LEVEL });
    const generator = await startModelPool(env, log);
    const worker = await GpuWorker.start({
      url: env.QUEUE_URL,
      name: env.WORKER_NAME ?? `${hostname()}-${process.pid}`,
      capacity: env.WORKER_CONCURRENCY,
      batchMaxRows: env.BATCH_MAX_ROWS,
      leaseMs: env.WORKER_LEASE_SECONDS * 1000,
      generator,
      log,
    });
    const signal = await new Promise<string>((resolve) => {
      for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => resolve(name));
    });
    log.info({ signal }, 'shutting down: finishing the running jobs');
    await worker.close();
    await generator.close();
  },
};
