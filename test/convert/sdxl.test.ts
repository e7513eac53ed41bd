// The SDXL oracle: diffusers' StableDiffusionXLPipeline pictures `xl_t2i_euler` (no negative prompt: zeros) and
// `xl_t2i_neg_dpmpp` (a negative prompt, 64×96), drawn from tiny-sdxl.safetensors (through `generate --model`, which
// converts it into the cache) and from the diffusers folder of the same weights (converted by `convertCheckpoint`).
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { generateCommand } from '../../src/cli/generate.js';
import { convertCheckpoint, readManifest } from '../../src/convert/convert.js';
import { isCheckpointError } from '../../src/checkpoint/index.js';
import { StableDiffusionPipeline } from '../../src/pipeline/index.js';
import { CHECKPOINTS, checkpointCases, TINY_SDXL, TINY_SDXL_FOLDER, type CheckpointCase } from '../support/checkpoint-files.js';
import { processTempDir } from '../support/temp-dir.js';
import { captureStream, maxAbsDifference, readF32, TOLERANCE } from '../pipeline/harness.js';

const CASES = checkpointCases().filter((c) =>
  c.id.startsWith('xl_'),
);
const dir = processTempDir();
const fromFolder = join(dir, 'tiny-sdxl-folder-onnx');

/** Draws case `c` from `model` (a checkpoint or an ONNX folder) and returns the largest difference from diffusers'. */
async function draw(c: CheckpointCase, model: string, syntax: 'plain' | 'a1111' = 'plain'): Promise<number> {
  const raw = join(dir, `${c.id}.f32`);
  const args = ['--model', model, '--prompt', c.prompt, '--seed', String(c.seed), '--steps', String(c.steps)];
  args.push('--cfg', String(c.cfg), '--sampler', c.scheduler, '--width', String(c.w), '--height', String(c.h));
  args.push('--rng', 'cpu', '--prompt-syntax', syntax, '--ep', 'cpu', '--raw', raw);
  if (c.negative !== undefined) args.push('--negative', c.negative);
  await generateCommand.run(args, { stdout: captureStream(), stderr: captureStream() });
  return maxAbsDifference(readF32(raw), readF32(join(CHECKPOINTS, c.output_file)));
}

describe('SDXL reproduces diffusers from a single file and from a diffusers folder', () => {
  before(async () => {
    process.env.MODEL_CACHE_DIR = join(dir, 'cache');
    await convertCheckpoint(TINY_SDXL_FOLDER, fromFolder, { dtype: 'fp32' });
  });

  it('finds both reference cases', () => {
    assert.deepEqual(CASES.map((c) => c.id).sort(), ['xl_t2i_euler', 'xl_t2i_neg_dpmpp']);
  });

  for (const c of CASES) {
    it(`${c.id} from tiny-sdxl.safetensors`, async (t) => {
      const worst = await draw(c, TINY_SDXL);
      assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
      t.diagnostic(`${c.id} (single file): max |Δ| = ${worst.toExponential(2)}`);
    });

    it(`${c.id} from the diffusers folder, also with A1111 prompt syntax (no weights: the same tokens)`, async (t) => {
      const worst = await draw(c, fromFolder);
      assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
      assert.ok((await draw(c, fromFolder, 'a1111')) <= TOLERANCE);
      t.diagnostic(`${c.id} (diffusers folder): max |Δ| = ${worst.toExponential(2)}`);
    });
  }

  it('an fp16 conversion draws both cases within fp16 rounding (the UNet and its added conditioning in fp16)', async (t) => {
    const half = join(dir, 'tiny-sdxl-fp16-onnx');
    await convertCheckpoint(TINY_SDXL, half, { dtype: 'fp16' });
    for (const c of CASES) {
      const worst = await draw(c, half);
      // The bound the fp16 conversion of tiny-sd meets against the same fp32 references (end-to-end.test.ts).
      assert.ok(worst < 0.02, `${c.id}: max |Δ| ${worst}`);
      t.diagnostic(`${c.id} (fp16): max |Δ| = ${worst.toExponential(2)}`);
    }
  });

  it('an empty negative prompt is zeros, not the encoded empty text (force_zeros_for_empty_prompt)', async () => {
    const c = CASES.find((x) => x.id === 'xl_t2i_euler');
    assert.ok(c);
    const folder = join(dir, 'no-zeros');
    cpSync(fromFolder, folder, { recursive: true });
    const index = JSON.parse(readFileSync(join(folder, 'model_index.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(folder, 'model_index.json'), JSON.stringify({ ...index, force_zeros_for_empty_prompt: false }));
    assert.ok((await draw(c, folder)) > 10 * TOLERANCE, 'the encoded empty prompt drew the zero-negative picture');
  });

  it('writes both text encoders and tokenizers, the second padding with "!", and the SDXL scheduler for a file', () => {
    const cached = join(dir, 'cache');
    const [entry] = readdirSync(cached).filter((name) => readManifest(join(cached, name))?.family === 'sdxl');
    assert.ok(entry, 'no SDXL conversion in the cache');
    const out = join(cached, entry);
    for (const part of ['text_encoder', 'text_encoder_2', 'tokenizer', 'tokenizer_2', 'unet', 'vae_decoder', 'vae_encoder']) {
      assert.ok(readdirSync(join(out, part)).length > 0, part);
    }
    const special = JSON.parse(readFileSync(join(out, 'tokenizer_2', 'special_tokens_map.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(special.pad_token, '!');
    const scheduler = JSON.parse(readFileSync(join(out, 'scheduler', 'scheduler_config.json'), 'utf8')) as Record<string, unknown>;
    const fixture = JSON.parse(readFileSync(join(TINY_SDXL_FOLDER, 'scheduler', 'scheduler_config.json'), 'utf8')) as Record<string, unknown>;
    for (const key of ['beta_start', 'beta_end', 'beta_schedule', 'steps_offset', 'timestep_spacing', 'prediction_type']) {
      assert.deepEqual(scheduler[key], fixture[key], key);
    }
    const index = JSON.parse(readFileSync(join(out, 'model_index.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(index.force_zeros_for_empty_prompt, true);
  });

  it('loads as the SDXL family at its native 1024² with clip skip up to its layers', async () => {
    const pipeline = await StableDiffusionPipeline.load(fromFolder, { provider: 'cpu' });
    try {
      assert.equal(pipeline.info.family, 'sdxl');
      assert.equal(pipeline.info.nativeSize, 1024);
      assert.equal(pipeline.info.sizeBuckets.length, 9);
      assert.equal(pipeline.info.maxClipSkip, 3);
    } finally {
      await pipeline.dispose();
    }
  });

  it('refuses a refiner folder (no first text encoder) before writing anything', async () => {
    const refiner = join(dir, 'refiner');
    cpSync(TINY_SDXL_FOLDER, refiner, { recursive: true });
    rmSync(join(refiner, 'text_encoder'), { recursive: true });
    await assert.rejects(
      convertCheckpoint(refiner, join(dir, 'refiner-onnx'), { dtype: 'fp32' }),
      (error) => isCheckpointError(error, 'UNSUPPORTED_FAMILY') && /SDXL refiner/.test(error.message),
    );
    assert.ok(!readdirSync(dir).some((name) => name.startsWith('refiner-onnx') || name.includes('refiner-onnx.partial')));
  });
});
