import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe } from 'node:test';

/** True when a `redis-server` binary is on PATH (CI installs Debian's package). */
export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts a throw-away redis-server on 127.0.0.1 (no persistence) and returns its URL and a stop function; on `port`
 * when given (a restart on the same address), else on a free one.
 */
export async function startRedisServer(port?: number): Promise<{ url: string; stop: () => Promise<void> }> {
  port ??= await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForOutput(child, 'Ready to accept connections');
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * `describe(title, body)` around a throw-away redis-server, started before the suite's tests and stopped after them;
 * `body`'s tests read its URL through `redisUrl()`. Without redis-server the suite is not registered, and says so.
 */
export function describeWithRedis(title: string, body: (redisUrl: () => string) => void): void {
  if (!redisServerInstalled()) {
    console.log(`# ${title}: not registered, redis-server is not installed (CI installs it)`);
    return;
  }
  describe(title, () => {
    let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
    before(async () => {
      server = await startRedisServer();
    });
    after(() => server?.stop());
    body(() => {
      if (!server) throw new Error('redis-server is read before the suite started it');
      return server.url;
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function waitForOutput(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${seen}`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${seen}`)));
  });
}
