// The bot's start as a member waits for it: `node dist/main.js` (what `npm start` runs, compiled: no TypeScript at
// start) on tiny-sd and the CPU against the fake Discord, from the process's start to its log lines — the models
// ready, the content classifier loaded (the two load at once), logged in, and ready for commands. Each start is a
// fresh process on a fresh store; the median of STARTS is printed, and each start's figures (a loaded machine varies
// a lot). It times what dist/ holds: after changing the source, `npm run build` first (it says so when dist/ is older).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FakeDiscord } from '../test/support/fake-discord/index.js';

const ENTRY = 'dist/main.js';
const STARTS = 5;
/** How long one start may take before it counts as failed (and its process is killed). */
const START_LIMIT_MS = 120_000;
/** The log lines timed, by message. */
const STAGES = ['models ready', 'content classifier loaded', 'logged in to Discord', 'dreamcord is ready'] as const;

type Stage = (typeof STAGES)[number];

/** Starts the bot once; the milliseconds from the spawn to each stage's line. */
async function startOnce(fake: FakeDiscord, store: string): Promise<Record<Stage, number>> {
  const started = performance.now();
  const child = spawn(process.execPath, [ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      DISCORD_TOKEN: fake.token,
      DISCORD_API_BASE: fake.apiBase,
      DISCORD_GUILD_ID: fake.guild.id,
      MODEL_DIR: 'test/fixtures/tiny-sd',
      EXECUTION_PROVIDER: 'cpu',
      STORE_URL: `sqlite://${store}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const reached: Partial<Record<Stage, number>> = {};
  const closed = new Promise((resolve) => child.on('close', resolve));
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the bot was not ready within ${START_LIMIT_MS / 1000} s`)), START_LIMIT_MS);
      void closed.then((code) => reject(new Error(`the bot exited (${String(code)}) before it was ready`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        const stage = STAGES.find((name) => name === messageOf(line));
        if (stage) reached[stage] = performance.now() - started;
        if (stage === 'dreamcord is ready') resolve();
      });
    });
  } finally {
    clearTimeout(timer);
    child.kill('SIGTERM');
    await closed;
  }
  return Object.fromEntries(STAGES.map((stage) => [stage, reached[stage] ?? Number.NaN])) as Record<Stage, number>;
}

/** The `msg` of a JSON log line; undefined for any other line. */
function messageOf(line: string): string | undefined {
  try {
    return (JSON.parse(line) as { msg?: string }).msg;
  } catch {
    return undefined;
  }
}

/** Whether a source file is newer than the build's entry (the figures would be of older code). */
function buildIsStale(): boolean {
  const built = statSync(ENTRY).mtimeMs;
  return readdirSync('src', { recursive: true, encoding: 'utf8' }).some((file) => file.endsWith('.ts') && statSync(join('src', file)).mtimeMs > built);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Prints the median time to each stage of the bot's start, and every start's. */
export async function benchStartup(): Promise<void> {
  if (!existsSync(ENTRY)) {
    console.log(`${ENTRY} is missing: run \`npm run build\` first (npm install does it)`);
    return;
  }
  if (buildIsStale()) console.log(`(src/ has changes newer than ${ENTRY}: these figures are of the last \`npm run build\`)`);
  const fake = await FakeDiscord.start();
  const dir = mkdtempSync(join(tmpdir(), 'dreamcord-bench-startup-'));
  try {
    const starts: Record<Stage, number>[] = [];
    for (let i = 0; i < STARTS; i++) starts.push(await startOnce(fake, join(dir, `store-${i}.sqlite`)));
    console.log(`the bot's start (${ENTRY}, tiny-sd on the CPU, fake Discord), median of ${STARTS} starts:`);
    for (const stage of STAGES) {
      const each = starts.map((start) => start[stage]);
      console.log(`  ${stage.padEnd(26)} ${(median(each) / 1000).toFixed(2)} s   (${each.map((ms) => (ms / 1000).toFixed(2)).join(', ')})`);
    }
  } finally {
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
