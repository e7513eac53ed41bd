// The oracle of the converter: the ONNX folders it writes from tiny-sd.safetensors and tiny-sd-inpaint.safetensors
// reproduce every `pipelines` reference of diffusers (made from the same weights), and the checkpoint reference
// `sf_t2i_euler_a` straight from the file through `generate --model tiny-sd.safetensors`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { generateCommand } from '../../src/cli/generate.js';
import { convertCheckpoint, readManifest } from '../../src/convert/convert.js';
import { CHECKPOINTS, TINY_SD, TINY_SD_INPAINT, writeDiffusersFolder, writeFp16Copy } from '../support/checkpoint-files.js';
import { processTempDir } from '../support/temp-dir.js';
import { argsFor, captureStream, maxAbsDifference, PIPELINE_CASES, readF32, TOLERANCE } from '../pipeline/harness.js';

interface CheckpointCase {
  readonly id: string;
  readonly prompt: string;
  readonly seed: number;
  readonly steps: number;
  readonly cfg: number;
  readonly h: number;
  readonly w: number;
  readonly scheduler: string;
  readonly output_file: string;
}

const dir = processTempDir();
const converted: Record<string, string> = { 'tiny-sd': join(dir, 'tiny-sd'), 'tiny-sd-inpaint': join(dir, 'tiny-sd-inpaint') };

async function generate(args: string[], raw: string): Promise<Float32Array> {
  await generateCommand.run(args, { stdout: captureStream(), stderr: captureStream() });
  return readF32(raw);
}

/** Converts `source`, runs the `t2i_euler_a` reference case on it and returns the largest difference. */
async function convertAndDrawEulerA(source: string, dtype: 'fp32' | 'fp16'): Promise<number> {
  const out = `${source}-${dtype}-onnx`;
  await convertCheckpoint(source, out, { dtype });
  const c = PIPELINE_CASES.find((x) => x.id === 't2i_euler_a');
  assert.ok(c);
  const raw = `${out}.f32`;
  return maxAbsDifference(await generate(argsFor(c, raw, out), raw), readF32(join('test/fixtures/references', c.output_file)));
}

describe('converted checkpoints reproduce diffusers', () => {
  before(async () => {
    await convertCheckpoint(TINY_SD, converted['tiny-sd'] ?? '', { dtype: 'fp32' });
    await convertCheckpoint(TINY_SD_INPAINT, converted['tiny-sd-inpaint'] ?? '', { dtype: 'fp32' });
  });

  it('writes the diffusers ONNX layout with the bundled CLIP tokenizer and SD 1.5 scheduler', () => {
    const out = converted['tiny-sd'] ?? '';
    assert.deepEqual(readdirSync(out).sort(), [
      'dreamcord-conversion.json',
      'model_index.json',
      'scheduler',
      'text_encoder',
      'tokenizer',
      'unet',
      'vae_decoder',
      'vae_encoder',
    ]);
    for (const file of ['vocab.json', 'merges.txt', 'special_tokens_map.json', 'tokenizer_config.json']) {
      assert.deepEqual(readFileSync(join(out, 'tokenizer', file)), readFileSync(join('test/fixtures/tiny-sd/tokenizer', file)), file);
    }
    const scheduler = JSON.parse(readFileSync(join(out, 'scheduler/scheduler_config.json'), 'utf8')) as Record<string, unknown>;
    const fixture = JSON.parse(readFileSync('test/fixtures/tiny-sd/scheduler/scheduler_config.json', 'utf8')) as Record<string, unknown>;
    for (const [key, value] of Object.entries(fixture)) assert.deepEqual(scheduler[key], value, key);
    const manifest = readManifest(out);
    assert.ok(manifest);
    assert.equal(manifest.dtype, 'fp32');
    assert.equal(manifest.family, 'sd1');
    assert.equal(manifest.source.size, readFileSync(TINY_SD).length);
    assert.match(manifest.source.sha256, /^[0-9a-f]{64}$/);
    assert.equal(readdirSync(dir).filter((name) => name.includes('partial')).length, 0);
  });

  for (const c of PIPELINE_CASES) {
    it(`${c.id}: ${c.kind} on the conversion of ${c.model}.safetensors`, async (t) => {
      const raw = join(dir, `${c.id}.f32`);
      const model = converted[c.model];
      assert.ok(model, `no checkpoint for ${c.model}`);
      const worst = maxAbsDifference(await generate(argsFor(c, raw, model), raw), readF32(join('test/fixtures/references', c.output_file)));
      assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
      t.diagnostic(`${c.id}: max |Δ| = ${worst.toExponential(2)}`);
    });
  }

  it('the usual fp16 download converted to fp16 draws the t2i_euler_a reference within fp16 rounding', async (t) => {
    const half = join(dir, 'tiny-sd-fp16.safetensors');
    writeFp16Copy(TINY_SD, half);
    const worst = await convertAndDrawEulerA(half, 'fp16');
    // The bound the fp16 ONNX export of the same model meets (test/pipeline/stable-diffusion.test.ts).
    assert.ok(worst < 0.02, `max |Δ| ${worst}`);
    t.diagnostic(`fp16: max |Δ| = ${worst.toExponential(2)}`);
  });

  it('a diffusers folder of the same weights converts to the same pictures (t2i_euler_a)', async (t) => {
    const folder = join(dir, 'tiny-sd-diffusers');
    writeDiffusersFolder(TINY_SD, folder);
    const worst = await convertAndDrawEulerA(folder, 'fp32');
    assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
    t.diagnostic(`diffusers folder: max |Δ| = ${worst.toExponential(2)}`);
  });

  it('sf_t2i_euler_a: txt2img straight from tiny-sd.safetensors through generate --model', async (t) => {
    const { cases } = JSON.parse(readFileSync(join(CHECKPOINTS, 'checkpoints.json'), 'utf8')) as { cases: CheckpointCase[] };
    const c = cases.find((x) => x.id === 'sf_t2i_euler_a');
    assert.ok(c);
    process.env.MODEL_CACHE_DIR = join(dir, 'cache');
    const raw = join(dir, 'sf.f32');
    const args = ['--model', TINY_SD, '--prompt', c.prompt, '--seed', String(c.seed), '--steps', String(c.steps)];
    args.push('--cfg', String(c.cfg), '--sampler', c.scheduler, '--width', String(c.w), '--height', String(c.h));
    args.push('--rng', 'cpu', '--prompt-syntax', 'plain', '--ep', 'cpu', '--raw', raw);
    const worst = maxAbsDifference(await generate(args, raw), readF32(join(CHECKPOINTS, c.output_file)));
    assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
    t.diagnostic(`sf_t2i_euler_a: max |Δ| = ${worst.toExponential(2)}`);
  });
});
