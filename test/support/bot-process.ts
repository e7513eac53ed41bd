import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FakeDiscord } from './fake-discord/index.js';
import { tempDir } from './temp-dir.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
const TINY_MODEL = fileURLToPath(new URL('../fixtures/tiny-sd', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** How the real process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The real `dreamcord` process (`src/main.ts`, as `npm start` runs it) against a fake Discord. */
export interface BotProcess {
  readonly child: ChildProcess;
  /** Every JSON log line it wrote to standard output, parsed. */
  readonly logs: readonly Record<string, unknown>[];
  /** Everything it wrote, standard output and standard error, as text. */
  readonly output: () => string;
  /** Resolves with the first log line that satisfies `predicate`; rejects after `timeoutMs` or when the process ends. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the process has ended. */
  readonly exited: Promise<Exit>;
}

export interface BotProcessOptions {
  readonly fake: FakeDiscord;
  /** `sqlite://…` of the store, to restart on the same data. */
  readonly storeUrl: string;
  /** @default the tiny fixture model */
  readonly modelDir?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** @default the fake's token */
  readonly token?: string;
}

/**
 * Starts `src/main.ts` in a child process, in an empty folder (no `.env`), with only the environment it needs, and
 * resolves once it logs that it is ready. The process is killed when the test file ends, should a test not end it.
 */
export async function startBotProcess(options: BotProcessOptions): Promise<BotProcess> {
  const bot = launch(options);
  await bot.waitForLog((line) => line['msg'] === 'dreamcord is ready', 60_000);
  return bot;
}

/** Starts `src/main.ts` without waiting for anything (for a start that is expected to fail). */
export function launch(options: BotProcessOptions): BotProcess {
  const { fake } = options;
  return launchProcess([MAIN], {
    DISCORD_TOKEN: options.token ?? fake.token,
    DISCORD_API_BASE: fake.apiBase,
    DISCORD_GUILD_ID: fake.guild.id,
    MODEL_DIR: options.modelDir ?? TINY_MODEL,
    EXECUTION_PROVIDER: 'cpu',
    STORE_URL: options.storeUrl,
    LOG_LEVEL: 'debug',
    ...options.env,
  });
}

/**
 * Starts `dreamcord worker` (the CLI, as `npm run worker` runs it) on the tiny model and the CPU, and resolves once
 * it has registered with the Redis at `queueUrl`.
 */
export async function startWorkerProcess(queueUrl: string, name: string, env: Readonly<Record<string, string>> = {}): Promise<BotProcess> {
  const worker = launchProcess([CLI, 'worker'], { QUEUE_URL: queueUrl, WORKER_NAME: name, MODEL_DIR: TINY_MODEL, EXECUTION_PROVIDER: 'cpu', ...env });
  await worker.waitForLog((line) => line['msg'] === 'GPU worker ready', 60_000);
  return worker;
}

/**
 * Runs a TypeScript entry point (`args`: the file, then its arguments) in a child process, in an empty folder (no
 * `.env`), with only `PATH` and `env`; killed when the test file ends, should a test not end it.
 */
function launchProcess(args: readonly string[], env: Readonly<Record<string, string>>): BotProcess {
  const child = spawn(process.execPath, ['--import', TSX, ...args], {
    cwd: tempDir('dreamcord-process-'),
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const logs: Record<string, unknown>[] = [];
  const text: string[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    text.push(line);
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line (a stray print); kept in `output`
    }
    notify();
  });
  child.stderr.on('data', (chunk: Buffer) => text.push(chunk.toString()));
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      resolve({ code, signal });
      notify();
    });
  });
  const output = () => text.join('\n');
  const waitForLog = (predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = logs.find(predicate);
        const ended = child.exitCode !== null || child.signalCode !== null;
        if (!found && !ended) return;
        waiters.delete(check);
        clearTimeout(timer);
        if (found) resolve(found);
        else reject(new Error(`The process ended (${child.exitCode ?? child.signalCode}) before the awaited log line:\n${output().slice(-3000)}`));
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for a log line:\n${output().slice(-3000)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { child, logs, output, waitForLog, exited };
}
