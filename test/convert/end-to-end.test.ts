// The oracle of the converter: the ONNX folders it writes from tiny-sd.safetensors and tiny-sd-inpaint.safetensors
// reproduce every `pipelines` reference of diffusers (made from the same weights), and the checkpoint reference
// `sf_t2i_euler_a` straight from the file through `generate --model tiny-sd.safetensors`.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { generateCommand } from '../../src/cli/generate.js';
import { parseInfotext, readPngText } from '../../src/pipeline/image/index.js';
import { convertCheckpoint, readManifest } from '../../src/convert/convert.js';
import { loadStableDiffusionModel } from '../../src/pipeline/models/stable-diffusion-model.js';
import { resolveRequest } from '../../src/pipeline/request.js';
import { SessionFactory } from '../../src/pipeline/runtime/session-factory.js';
import { encodePrompt } from '../../src/pipeline/steps.js';
import { TimingRecorder } from '../../src/pipeline/timing.js';
import type { PromptSyntax } from '../../src/pipeline/tokenizer/index.js';
import { CHECKPOINTS, checkpointCases, TINY_LORA, TINY_SD, TINY_SD_INPAINT, TINYTOK, writeDiffusersFolder, writeFp16Copy, type CheckpointCase } from '../support/checkpoint-files.js';
import { processTempDir } from '../support/temp-dir.js';
import { argsFor, captureStream, maxAbsDifference, PIPELINE_CASES, readF32, TOLERANCE } from '../pipeline/harness.js';

const dir = processTempDir();
const converted: Record<string, string> = { 'tiny-sd': join(dir, 'tiny-sd'), 'tiny-sd-inpaint': join(dir, 'tiny-sd-inpaint') };

async function generate(args: string[], raw: string): Promise<Float32Array> {
  await generateCommand.run(args, { stdout: captureStream(), stderr: captureStream() });
  return readF32(raw);
}

/**
 * Runs the checkpoint reference case `id` straight from tiny-sd.safetensors through `generate --model` (converted
 * into the cache on first use) with `extra` flags, and returns the largest difference from diffusers' picture.
 */
async function drawCheckpointCase(id: string, extra: readonly string[] = []): Promise<number> {
  const cases = checkpointCases();
  const c = cases.find((x) => x.id === id);
  assert.ok(c);
  process.env.MODEL_CACHE_DIR = join(dir, 'cache');
  const raw = join(dir, `${id}.f32`);
  const args = ['--model', TINY_SD, '--prompt', c.prompt, '--seed', String(c.seed), '--steps', String(c.steps)];
  args.push('--cfg', String(c.cfg), '--sampler', c.scheduler, '--width', String(c.w), '--height', String(c.h));
  args.push('--rng', 'cpu', '--prompt-syntax', 'plain', '--ep', 'cpu', '--raw', raw, ...extra);
  return maxAbsDifference(await generate(args, raw), readF32(join(CHECKPOINTS, c.output_file)));
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
      'weight_ops',
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
    const worst = await drawCheckpointCase('sf_t2i_euler_a');
    assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
    t.diagnostic(`sf_t2i_euler_a: max |Δ| = ${worst.toExponential(2)}`);
  });

  it("clipskip2_t2i: A1111's clip skip 2 (the penultimate layer through the final layer norm)", async (t) => {
    const worst = await drawCheckpointCase('clipskip2_t2i', ['--clip-skip', '2']);
    assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
    // Clip skip must change the picture: the same case at clip skip 1 is far from diffusers' clip_skip=1 picture.
    assert.ok((await drawCheckpointCase('clipskip2_t2i')) > 100 * TOLERANCE, 'clip skip 2 drew the clip skip 1 picture');
    t.diagnostic(`clipskip2_t2i: max |Δ| = ${worst.toExponential(2)}`);
  });

  it('ti_t2i: the tinytok embedding from --embeddings-dir takes its two token slots, and is named with its hash', async (t) => {
    const embeddings = join(dir, 'embeddings');
    mkdirSync(embeddings, { recursive: true });
    copyFileSync(TINYTOK, join(embeddings, 'tinytok.safetensors'));
    const out = join(dir, 'ti.png');
    const worst = await drawCheckpointCase('ti_t2i', ['--embeddings-dir', embeddings, '--out', out]);
    assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
    const sha256 = createHash('sha256').update(readFileSync(TINYTOK)).digest('hex');
    assert.equal(parseInfotext(readPngText(readFileSync(out)).parameters ?? '').extra?.['TI hashes'], `tinytok: ${sha256.slice(0, 12)}`);
    // Without the embedding the word is two ordinary tokens, and the picture is another.
    assert.ok((await drawCheckpointCase('ti_t2i')) > 10 * TOLERANCE, 'the embedding changed nothing');
    t.diagnostic(`ti_t2i: max |Δ| = ${worst.toExponential(2)}`);
  });

  it("lora_t2i: <lora:tiny-lora:0.8> merged into the text encoder and the UNet in ONNX Runtime, A1111's rule", async (t) => {
    const loras = join(dir, 'loras');
    mkdirSync(loras, { recursive: true });
    copyFileSync(TINY_LORA, join(loras, 'tiny-lora.safetensors'));
    const out = join(dir, 'lora.png');
    const { cases } = JSON.parse(readFileSync(join(CHECKPOINTS, 'checkpoints.json'), 'utf8')) as { cases: (CheckpointCase & { a1111_prompt: string })[] };
    const tagged = cases.find((x) => x.id === 'lora_t2i')?.a1111_prompt ?? '';
    const worst = await drawCheckpointCase('lora_t2i', ['--lora-dir', loras, '--out', out, '--prompt', tagged]);
    assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
    const parameters = parseInfotext(readPngText(readFileSync(out)).parameters ?? '');
    assert.equal(parameters.prompt, tagged);
    assert.match(parameters.extra?.['Lora hashes'] ?? '', /^tiny-lora: [0-9a-f]{12}$/);
    // The same LoRA by flag, the tag left out, and at weight 0 (the picture without it) far from the reference.
    assert.ok((await drawCheckpointCase('lora_t2i', ['--lora-dir', loras, '--lora', 'tiny-lora:0.8'])) <= TOLERANCE);
    assert.ok((await drawCheckpointCase('lora_t2i', ['--lora-dir', loras, '--lora', 'tiny-lora:0'])) > 10 * TOLERANCE);
    t.diagnostic(`lora_t2i: max |Δ| = ${worst.toExponential(2)}`);
  });

  it('lora_t2i on the fp16 conversion: the merge in fp16 stays within the fp16 bound', async (t) => {
    const loras = join(dir, 'loras');
    process.env.MODEL_DTYPE = 'fp16';
    try {
      const worst = await drawCheckpointCase('lora_t2i', ['--lora-dir', loras, '--lora', 'tiny-lora:0.8']);
      // The bound the fp16 export of the same model meets (test/pipeline/stable-diffusion.test.ts).
      assert.ok(worst < 0.02, `max |Δ| ${worst}`);
      t.diagnostic(`lora_t2i fp16: max |Δ| = ${worst.toExponential(2)}`);
    } finally {
      delete process.env.MODEL_DTYPE;
    }
  });

  it('clip skip reads the negative prompt at the same layer with A1111 syntax, at the last with plain (diffusers)', async () => {
    const sessions = new SessionFactory({ provider: 'cpu' });
    try {
      const model = await loadStableDiffusionModel(converted['tiny-sd'] ?? '', sessions);
      /** The conditioning rows of `text` as the prompt (cfg ≤ 1: no negative half) and as the negative prompt. */
      const rows = async (text: string, clipSkip: number, syntax: PromptSyntax, asNegative: boolean): Promise<Float32Array> => {
        const base = { prompt: text, clipSkip, promptSyntax: syntax, width: 64, height: 64 };
        const request = resolveRequest(asNegative ? { ...base, prompt: 'a fox', negativePrompt: text, cfg: 7 } : { ...base, cfg: 1 });
        const { hidden, batch } = await encodePrompt(model, request, new TimingRecorder());
        return hidden.subarray(0, hidden.length / batch);
      };
      const text = 'blurry, lowres';
      // One text-encoder batch or two: the same rows up to float rounding.
      assert.ok(maxAbsDifference(await rows(text, 2, 'a1111', true), await rows(text, 2, 'a1111', false)) < 1e-6);
      assert.ok(maxAbsDifference(await rows(text, 2, 'plain', true), await rows(text, 1, 'plain', false)) < 1e-6);
      assert.ok(maxAbsDifference(await rows(text, 2, 'plain', false), await rows(text, 1, 'plain', false)) > 1e-3);
    } finally {
      await sessions.releaseAll();
    }
  });
});
