// `dreamcord models list | add | remove` (issue 16): copies and downloads into MODELS_DIR, downloads from an HTTP
// server this test starts on 127.0.0.1 (serving the fixtures, with Range requests): a broken download resumes, a
// checksum mismatch deletes the file and registers nothing, and the added model is converted and named.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { TINY_LORA, TINY_SD, TINY_SDXL } from '../support/checkpoint-files.js';
import { processTempDir, tempDir } from '../support/temp-dir.js';
import { captureStream } from '../pipeline/harness.js';

const FILES: Record<string, Buffer> = {
  '/models/tiny-sd.safetensors': readFileSync(TINY_SD),
  '/models/tiny-sdxl.safetensors': readFileSync(TINY_SDXL),
  '/models/tiny-lora.safetensors': readFileSync(TINY_LORA),
};
/** Paths whose next full (non-Range) request breaks off half-way, as a dropped connection does. */
const breakNext = new Set<string>();
const ranges: string[] = [];
let server: Server;
let base = '';

before(async () => {
  server = createServer((request, response) => {
    const path = request.url ?? '';
    const body = FILES[path];
    if (!body) {
      response.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    if (range) {
      ranges.push(request.headers.range ?? '');
      const start = Number(range[1]);
      response.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      response.end(body.subarray(start));
      return;
    }
    response.writeHead(200, { 'content-length': body.length });
    if (breakNext.delete(path)) {
      response.write(body.subarray(0, body.length >> 1), () => response.destroy());
      return;
    }
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.MODEL_CACHE_DIR = join(processTempDir(), 'cache');
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function models(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await runCli(['models', ...args], { stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('dreamcord models', () => {
  it('adds a local file (converted, named with its family), lists it, and removes it with its sidecar', async () => {
    const dir = tempDir();
    const added = await models('add', TINY_SDXL, '--dir', dir);
    assert.equal(added.code, 0, added.err);
    assert.equal(added.out, `added tiny-sdxl: Stable Diffusion XL, sha256 ${sha256(FILES['/models/tiny-sdxl.safetensors'] ?? Buffer.alloc(0)).slice(0, 10)}\n`);
    writeFileSync(join(dir, 'tiny-sdxl.json'), JSON.stringify({ displayName: 'Tiny XL' }));
    assert.equal((await models('list', '--dir', dir)).out, 'tiny-sdxl "Tiny XL" (safetensors)\n');
    const again = await models('add', TINY_SDXL, '--dir', dir);
    assert.equal(again.code, 1);
    assert.match(again.err, /tiny-sdxl\.safetensors is already in .*; remove it first/);
    const removed = await models('remove', 'TINY-SDXL', '--dir', dir);
    assert.equal(removed.code, 0, removed.err);
    assert.deepEqual(readdirSync(dir), []);
    const unknown = await models('remove', 'nothing', '--dir', dir);
    assert.match(unknown.err, /There is no model "nothing" in .* \(models: none\)/);
  });

  it('downloads over HTTP, resuming a broken download with a Range request', async () => {
    const dir = tempDir();
    const url = `${base}/models/tiny-sd.safetensors`;
    breakNext.add('/models/tiny-sd.safetensors');
    const broken = await models('add', url, '--dir', dir);
    assert.equal(broken.code, 1);
    assert.match(broken.err, /The download broke \(.+\); run the same add again to resume it/);
    assert.deepEqual(readdirSync(dir), ['.tiny-sd.safetensors.partial'], 'only the partial file, which the catalog skips');
    assert.equal((await models('list', '--dir', dir)).err.trim(), `${dir} holds no models`);
    const body = FILES['/models/tiny-sd.safetensors'] ?? Buffer.alloc(0);
    const resumed = await models('add', url, '--dir', dir, '--sha256', sha256(body));
    assert.equal(resumed.code, 0, resumed.err);
    assert.match(resumed.out, /^added tiny-sd: Stable Diffusion 1\.x, sha256 [0-9a-f]{10}\n$/);
    assert.ok(ranges.length > 0 && ranges.every((range) => /^bytes=[1-9]\d*-$/.test(range)), 'the second request asked for the rest only');
    assert.deepEqual(readFileSync(join(dir, 'tiny-sd.safetensors')), body);
  });

  it('deletes a download whose checksum does not match, and one that is not a model, registering nothing', async () => {
    const dir = tempDir();
    const mismatch = await models('add', `${base}/models/tiny-sd.safetensors`, '--dir', dir, '--sha256', '0'.repeat(64));
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.err, /sha256 [0-9a-f]{64} is not the expected 0{64}; the file was deleted, nothing was added/);
    const lora = await models('add', `${base}/models/tiny-lora.safetensors`, '--dir', dir);
    assert.equal(lora.code, 9, 'the exit code of NOT_A_CHECKPOINT');
    assert.match(lora.err, /looks like a LoRA, not a checkpoint/);
    const missing = await models('add', `${base}/models/none.safetensors`, '--dir', dir);
    assert.match(missing.err, /answered HTTP 404/);
    const notAFile = await models('add', `${base}/models/`, '--dir', dir);
    assert.match(notAFile.err, /does not name a \.safetensors file/);
    assert.ok(!readdirSync(dir).some((name) => !name.startsWith('.')), readdirSync(dir).join(', '));
    assert.ok(!existsSync(join(dir, '.tiny-sd.safetensors.partial')));
  });

  it('says what is wrong with its arguments', async () => {
    assert.equal((await models('list')).code, 2, 'no MODELS_DIR and no --dir');
    assert.equal((await models('fly', '--dir', tempDir())).code, 2);
    assert.equal((await models('add', TINY_SD, '--dir', tempDir(), '--sha256', 'abc')).code, 2);
  });
});
