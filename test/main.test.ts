import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './support/temp-dir.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');

/** Runs `src/main.ts` as `npm start` would, in a folder without a `.env`, with only `env` set. */
function start(env: Record<string, string>) {
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', tsx, main], {
    cwd: tempDir(),
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    // Generous: on a loaded 2-core machine loading TypeScript and the imports alone has taken over 20 s.
    timeout: 90_000,
  });
  return { ...result, ms: Date.now() - started };
}

describe('npm start', () => {
  it('without a .env names the missing variable and exits non-zero', () => {
    const result = start({});
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'dreamcord: DISCORD_TOKEN is not set: expected the bot token from the Discord developer portal (see .env.example)\n');
    console.log(`# exited after ${result.ms} ms (including TypeScript loading)`);
  });

  it('names an invalid value without echoing the token', () => {
    const result = start({ DISCORD_TOKEN: 'secret-token-123456', MODEL_DIR: 'm', EXECUTION_PROVIDER: 'tpu' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^dreamcord: EXECUTION_PROVIDER is invalid: expected one of auto, cuda, dml, webgpu, coreml, cpu/);
    assert.ok(!result.stderr.includes('secret-token-123456'));
  });

  it('reports a model that does not exist in one line and exits non-zero', () => {
    const result = start({ DISCORD_TOKEN: 'secret-token-123456', MODEL_DIR: 'no-such-model', STORE_URL: 'sqlite://data/x.sqlite' });
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'dreamcord: MODEL_DIR cannot be used: no-such-model does not exist\n');
    assert.ok(!result.stdout.includes('secret-token-123456'));
  });
});
