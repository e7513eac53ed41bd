import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { convertCheckpoint, readManifest } from '../../src/convert/convert.js';
import { isCheckpointError } from '../../src/checkpoint/index.js';
import { TINY_LORA, TINY_SD, tensorsOf } from '../support/checkpoint-files.js';
import { writeSafetensors } from '../support/safetensors-writer.js';
import { tempDir } from '../support/temp-dir.js';

function io(isTTY = false) {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY });
  const text = (stream: PassThrough) => () => (stream.read() as Buffer | null)?.toString() ?? '';
  return { io: { stdout, stderr }, out: text(stdout), err: text(stderr) };
}

describe('dreamcord convert', () => {
  it('converts a checkpoint with a progress bar on a terminal', async () => {
    const out = join(tempDir(), 'model');
    const t = io(true);
    assert.equal(await runCli(['convert', TINY_SD, '--out', out, '--dtype', 'fp16'], t.io), 0);
    assert.match(t.out(), /model: Stable Diffusion 1\.x, fp16, converted in [\d.]+ s/);
    const err = t.err();
    assert.match(err, /\r\[#{30}\] 100% vae_decoder/);
    assert.match(err, /\r\[-{30}\] {3}0% text_encoder/);
    assert.equal(readManifest(out)?.dtype, 'fp16');
  });

  it('writes the CUDA form with --target cuda, fp16 without saying so', async () => {
    const out = join(tempDir(), 'model');
    const t = io();
    assert.equal(await runCli(['convert', TINY_SD, '--out', out, '--target', 'cuda'], t.io), 0);
    assert.match(t.out(), /model: Stable Diffusion 1\.x, fp16 \(cuda form\), converted in/);
    assert.deepEqual([readManifest(out)?.dtype, readManifest(out)?.target], ['fp16', 'cuda']);
  });

  it('gives each kind of bad input its own exit code and one line, without a stack trace', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'model.ckpt'), Buffer.from('\x80\x04K\x01.', 'latin1'));
    const bytes = readFileSync(TINY_SD);
    writeFileSync(join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 10));
    mkdirSync(join(dir, 'taken'));
    const cases: [string[], number, RegExp][] = [
      [[join(dir, 'none.safetensors')], 3, /does not exist/],
      [[join(dir, 'model.ckpt')], 4, /is a PyTorch pickle/],
      [[join(dir, 'cut.safetensors')], 5, /cut\.safetensors is truncated/],
      [[TINY_LORA], 9, /looks like a LoRA, not a checkpoint/],
      [['test/fixtures/tiny-sd'], 9, /tiny-sd is already an ONNX model folder: use it as it is/],
      [[TINY_SD, '--out', join(dir, 'taken')], 12, /already exists/],
    ];
    for (const [args, code, message] of cases) {
      const t = io();
      const out = args.includes('--out') ? [] : ['--out', join(dir, 'out')];
      assert.equal(await runCli(['convert', ...args, ...out], t.io), code, args.join(' '));
      const err = t.err();
      assert.match(err, message);
      assert.equal(err.trim().split('\n').length, 1, err);
      assert.doesNotMatch(err, /\n\s+at /);
    }
    assert.equal(existsSync(join(dir, 'out')), false);
  });

  it('refuses bad arguments with usage and code 2', async () => {
    const bad = [
      [],
      [TINY_SD],
      [TINY_SD, '--out', 'x', '--dtype', 'int8'],
      [TINY_SD, '--out', 'x', '--target', 'rocm'],
      [TINY_SD, '--out', 'x', '--target', 'cuda', '--dtype', 'fp32'],
    ];
    for (const args of bad) {
      const t = io();
      assert.equal(await runCli(['convert', ...args], t.io), 2);
      assert.match(t.err(), /Usage: dreamcord convert/);
    }
  });

  it('leaves nothing behind when a conversion fails half-way', async () => {
    // Readable and complete by its header, but one UNet weight is not a float: the text encoder is written first,
    // then the UNet fails.
    const dir = tempDir();
    const broken = join(dir, 'broken.safetensors');
    writeSafetensors(
      broken,
      tensorsOf(TINY_SD).map((t) =>
        t.name === 'model.diffusion_model.out.2.bias' ? { ...t, dtype: 'I32' } : t,
      ),
    );
    const out = join(dir, 'out');
    const components: string[] = [];
    await assert.rejects(
      convertCheckpoint(broken, out, { dtype: 'fp32', onProgress: (p) => components.push(p.component) }),
      (error: unknown) => isCheckpointError(error, 'UNKNOWN_DTYPE'),
    );
    assert.ok(components.includes('unet'));
    assert.deepEqual(readdirSync(dir), ['broken.safetensors']);
  });

  it('leaves nothing behind when the disk cannot take the output (file size limit in a child process)', () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    // ulimit -f caps what the process may write (in 512-byte blocks); with SIGXFSZ ignored the write fails.
    const script = `trap '' XFSZ; ulimit -f 2000; exec node --import tsx src/cli/bin.ts convert ${JSON.stringify(TINY_SD)} --out ${JSON.stringify(out)}`;
    const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    assert.equal(result.status, 14, result.stderr);
    assert.match(result.stderr, /dreamcord convert: Could not write .*out: .*too large/i);
    assert.deepEqual(readdirSync(dir), []);
  });
});
