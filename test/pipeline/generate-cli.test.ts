import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/cli/command.js';
import { generateCommand } from '../../src/cli/generate.js';
import { decodeImage, encodePng, isPipelineError, readPngText, toRgb8 } from '../../src/pipeline/index.js';
import { tempDir } from '../support/temp-dir.js';
import { captureStream, maxAbsDifference, readF32 } from './harness.js';

const REFERENCES = 'test/fixtures/references';
const FAST = ['--model', 'test/fixtures/tiny-sd', '--prompt', 'a window', '--steps', '2'];
FAST.push('--width', '64', '--height', '64');

async function run(args: readonly string[], stderr = captureStream()): Promise<string> {
  await generateCommand.run(args, { stdout: captureStream(), stderr });
  return stderr.text;
}

describe('dreamcord generate', () => {
  const dir = tempDir();

  it('writes one PNG per image with the A1111 parameters, and progress lines plus a summary', async () => {
    const out = join(dir, 'fox.png');
    const flags = ['--seed', '5', '--count', '2', '--rng', 'gpu', '--sampler', 'Euler a', '--ep', 'cpu', '--out', out];
    const stderr = await run([...FAST, ...flags]);
    assert.ok(!existsSync(out));
    const first = readPngText(readFileSync(join(dir, 'fox-1.png'))).parameters ?? '';
    const second = readPngText(readFileSync(join(dir, 'fox-2.png'))).parameters ?? '';
    assert.match(first, /^a window\nSteps: 2, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 5, Size: 64x64, Model: tiny-sd, /);
    assert.match(second, /Seed: 6,/);
    assert.match(stderr, /^step 1\/2 [\d.]+ s\nstep 2\/2 /);
    const summary = /2 images \(seeds 5–6\) in [\d.]+ s on cpu: [\d.]+ ms\/step \(UNet [\d.]+ ms, other [\d.]+ ms\)\n$/;
    assert.match(stderr, summary);
  });

  it('draws a progress bar on a terminal', async () => {
    const stderr = await run([...FAST, '--ep', 'cpu', '--raw', join(dir, 'bar.f32')], captureStream(true));
    assert.match(stderr, /\r\[#{15}-{15}\] 1\/2 [\d.]+ s\r\[#{30}\] 2\/2 [\d.]+ s\n/);
  });

  it('resizes a mask of another size to the image (here 2× larger: the reference result comes back)', async () => {
    const mask = (await decodeImage(readFileSync(join(REFERENCES, 'mask.png')), { maxPixels: 1e6 })).image;
    const large = new Float32Array(128 * 128 * 3);
    for (let y = 0; y < 128; y++) {
      for (let x = 0; x < 128; x++) {
        for (let c = 0; c < 3; c++) large[(y * 128 + x) * 3 + c] = mask.data[((y >> 1) * 64 + (x >> 1)) * 3 + c] ?? 0;
      }
    }
    const maskFile = join(dir, 'mask-128.png');
    writeFileSync(maskFile, await encodePng(toRgb8({ width: 128, height: 128, channels: 3, data: large })));
    const raw = join(dir, 'inpaint.f32');
    await run([
      ...['--model', 'test/fixtures/tiny-sd-inpaint', '--prompt', 'a window', '--seed', '5', '--steps', '10'],
      ...['--cfg', '7.5', '--sampler', 'ddim', '--rng', 'cpu', '--prompt-syntax', 'plain', '--ep', 'cpu'],
      ...['--init-image', join(REFERENCES, 'init_image.png'), '--mask', maskFile, '--raw', raw],
    ]);
    const actual = readF32(raw);
    const expected = readF32(join(REFERENCES, 'bin/e2e_inpaint_ddim.f32'));
    const worst = maxAbsDifference(actual, expected);
    assert.ok(worst <= 2e-3, `max |Δ| ${worst}`);
  });

  it('refuses an init image that is not an image', async () => {
    const notImage = join(dir, 'notes.png');
    writeFileSync(notImage, 'just some text');
    await assert.rejects(
      run([...FAST, '--ep', 'cpu', '--init-image', notImage, '--raw', join(dir, 'x.f32')]),
      (error) => isPipelineError(error, 'INVALID_IMAGE') && error.message.startsWith(notImage),
    );
  });

  it('fails loudly when the provider asked for is unavailable', async () => {
    const missing = process.platform === 'win32' ? 'coreml' : 'dml';
    await assert.rejects(
      run([...FAST, '--ep', missing, '--raw', join(dir, 'x.f32')]),
      (error) => isPipelineError(error, 'PROVIDER_UNAVAILABLE') && error.details.provider === missing,
    );
  });

  it('reads ONNX_NATIVE_BRIDGE as the bot does: the bridge draws the same picture, a bad value is a usage error', async () => {
    const saved = process.env.ONNX_NATIVE_BRIDGE;
    try {
      const pictures = [];
      for (const setting of ['off', 'on']) {
        process.env.ONNX_NATIVE_BRIDGE = setting;
        const raw = join(dir, `bridge-${setting}.f32`);
        await run([...FAST, '--seed', '3', '--ep', 'cpu', '--raw', raw]);
        pictures.push(readFileSync(raw));
      }
      assert.deepEqual(pictures[1], pictures[0]);
      process.env.ONNX_NATIVE_BRIDGE = 'yes';
      const isUsageError = (error: unknown): boolean =>
        error instanceof UsageError && error.message === 'ONNX_NATIVE_BRIDGE must be one of auto, on, off, not "yes"';
      await assert.rejects(run([...FAST, '--ep', 'cpu', '--raw', join(dir, 'x.f32')]), isUsageError);
    } finally {
      if (saved === undefined) delete process.env.ONNX_NATIVE_BRIDGE;
      else process.env.ONNX_NATIVE_BRIDGE = saved;
    }
  });

  it('--cuda-graphs on (or ONNX_CUDA_GRAPHS=on) on the CPU: the same picture, and one warning that the UNet runs without graphs', async () => {
    const saved = { bridge: process.env.ONNX_NATIVE_BRIDGE, graphs: process.env.ONNX_CUDA_GRAPHS };
    const graphWarnings = (stderr: string): string[] => stderr.split('\n').filter((line) => line.includes('CUDA graphs'));
    try {
      process.env.ONNX_NATIVE_BRIDGE = 'on';
      delete process.env.ONNX_CUDA_GRAPHS;
      const draw = async (flags: string[], name: string) => {
        const raw = join(dir, `graphs-${name}.f32`);
        const stderr = await run([...FAST, '--seed', '3', '--ep', 'cpu', '--raw', raw, ...flags]);
        return { picture: readFileSync(raw), warnings: graphWarnings(stderr) };
      };
      const plain = await draw([], 'plain');
      const flag = await draw(['--cuda-graphs', 'on'], 'flag');
      process.env.ONNX_CUDA_GRAPHS = 'on';
      const fromEnv = await draw([], 'env');
      const flagOverEnv = await draw(['--cuda-graphs', 'auto'], 'auto');
      assert.deepEqual(plain.warnings, []);
      for (const { picture } of [flag, fromEnv, flagOverEnv]) assert.deepEqual(picture, plain.picture);
      for (const { warnings } of [flag, fromEnv]) {
        assert.equal(warnings.length, 1);
        // The tiny model is the portable form of the graphs, which CUDA graphs cannot capture.
        assert.match(warnings[0] ?? '', /^warning: CUDA graphs need the UNet in the CUDA form of the graphs \(converted for the CUDA provider\); this model runs without them \{.*unet\/model\.onnx/);
      }
      assert.deepEqual(flagOverEnv.warnings, []);
      const isUsageError = (message: string) => (error: unknown): boolean => error instanceof UsageError && error.message === message;
      await assert.rejects(run([...FAST, '--cuda-graphs', 'yes']), isUsageError('--cuda-graphs must be one of auto, on, off, not "yes"'));
      process.env.ONNX_CUDA_GRAPHS = 'always';
      await assert.rejects(run([...FAST, '--ep', 'cpu']), isUsageError('ONNX_CUDA_GRAPHS must be one of auto, on, off, not "always"'));
    } finally {
      for (const [name, value] of [['ONNX_NATIVE_BRIDGE', saved.bridge], ['ONNX_CUDA_GRAPHS', saved.graphs]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('reports bad arguments as usage errors, before loading the model', async () => {
    const cases: [string[], RegExp][] = [
      [['--prompt', 'x'], /--model DIR is required/],
      [[...FAST, '--steps', 'many'], /--steps must be a number/],
      [[...FAST, '--steps', '0'], /`steps` to be an integer 1–150, got 0/],
      [[...FAST, '--width', '65'], /`width` to be a multiple of 8/],
      [[...FAST, '--rng', 'tpu'], /`rng` to be one of cpu, gpu/],
      [[...FAST, '--sampler', 'nope'], /Unknown sampler "nope"/],
      [[...FAST, '--ep', 'tpu'], /auto, cuda, dml, coreml, webgpu, cpu/],
      [[...FAST, '--seed', '1.5'], /--seed must be a whole number/],
      [[...FAST, '--seed=-1'], /--seed must be a whole number/],
      [[...FAST, '--mask', 'm.png'], /--mask needs --init-image/],
      [[...FAST, '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const isUsageError = (error: unknown): boolean => error instanceof UsageError && message.test(error.message);
      await assert.rejects(run(args), isUsageError, args.join(' '));
    }
  });
});
