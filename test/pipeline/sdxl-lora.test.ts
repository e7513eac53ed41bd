// Issue 16: SDXL LoRAs (kohya's lora_unet_ in LDM and diffusers module paths, lora_te1_ / lora_te2_, a LoCon
// convolution; PEFT's text_encoder_2.) on tiny-sdxl. The oracle is independent of the LoRA code: the same LoRA
// merged into tiny-sdxl.safetensors by A1111's rule in the test (test/support/sdxl-lora.ts), converted, and drawn.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCommand } from '../../src/cli/generate.js';
import { convertCheckpoint } from '../../src/convert/convert.js';
import { isNetworkError, LoraLibrary, loraPatch, readLora, type LoadedLora } from '../../src/networks/index.js';
import type { NetworkPatch, PatchableWeight } from '../../src/pipeline/index.js';
import { loadStableDiffusionModel, type StableDiffusionModel } from '../../src/pipeline/models/stable-diffusion-model.js';
import { SessionFactory } from '../../src/pipeline/runtime/session-factory.js';
import { ClipTextEncoder } from '../../src/pipeline/models/text-encoder.js';
import { SafetensorsFile } from '../../src/checkpoint/index.js';
import { TINY_LORA, TINY_SDXL } from '../support/checkpoint-files.js';
import { writeSafetensors } from '../support/safetensors-writer.js';
import { writeMergedCheckpoint, writeSdxlLora, type SdxlLoraModule } from '../support/sdxl-lora.js';
import { processTempDir } from '../support/temp-dir.js';
import { captureStream, maxAbsDifference, readF32 } from './harness.js';

const MULTIPLIER = 0.8;
/** Merging in ONNX Runtime (float32) against the test's float64 sums rounded once: float32 rounding apart. */
const SAME = 1e-4;
const dir = processTempDir();
const loraDir = join(dir, 'loras');
const loraFile = join(loraDir, 'xl-lora.safetensors');

/** Draws with the CLI from `model`; returns the raw float32 picture. */
async function draw(model: string, prompt: string, extra: string[] = []): Promise<Float32Array> {
  const raw = join(dir, 'out.f32');
  const args = ['--model', model, '--prompt', prompt, '--negative', 'blurry', '--seed', '11', '--steps', '3', '--cfg', '5'];
  args.push('--sampler', 'euler', '--width', '64', '--height', '64', '--rng', 'cpu', '--ep', 'cpu', '--raw', raw, ...extra);
  await generateCommand.run(args, { stdout: captureStream(), stderr: captureStream() });
  return readF32(raw);
}

describe('SDXL LoRAs', () => {
  const sessions = new SessionFactory({ provider: 'cpu' });
  let modules: SdxlLoraModule[];
  let lora: LoadedLora;
  let model: StableDiffusionModel;
  let merged: StableDiffusionModel;
  let patch: NetworkPatch;
  const mergedCheckpoint = join(dir, 'tiny-sdxl-merged.safetensors');
  before(async () => {
    process.env.MODEL_CACHE_DIR = join(dir, 'cache');
    mkdirSync(loraDir);
    modules = writeSdxlLora(TINY_SDXL, loraFile, { rank: 4, seed: 16, spread: 0.5 });
    writeMergedCheckpoint(TINY_SDXL, modules, MULTIPLIER, mergedCheckpoint);
    await convertCheckpoint(TINY_SDXL, join(dir, 'base'), { dtype: 'fp32' });
    await convertCheckpoint(mergedCheckpoint, join(dir, 'merged'), { dtype: 'fp32' });
    model = await loadStableDiffusionModel(join(dir, 'base'), sessions);
    merged = await loadStableDiffusionModel(join(dir, 'merged'), sessions);
    lora = await readLora(loraFile);
    assert.ok(model.patching);
    patch = loraPatch(lora, { name: 'xl-lora', te: MULTIPLIER, unet: MULTIPLIER }, model.patching.weights);
  });
  after(async () => {
    for (const kept of Object.values(model.patching?.merged ?? {})) await kept.release();
    await sessions.releaseAll();
  });

  it('reads it as an SDXL LoRA and matches every module to a layer of its component', () => {
    assert.equal(lora.family, 'sdxl');
    assert.equal(lora.modules.length, modules.length);
    const count = (prefix: string) => modules.filter((module) => module.key.startsWith(prefix)).length;
    assert.equal(patch.deltas.text_encoder.length, count('lora_te1_'));
    assert.equal(patch.deltas.text_encoder_2.length, count('lora_te2_'));
    assert.equal(patch.deltas.unet.length, count('lora_unet_'));
    // tiny-sdxl: 3 CLIP-L layers × 6 Linears, 3 OpenCLIP layers × 6, the UNet's 88 transformer Linears + 1 conv.
    assert.deepEqual([count('lora_te1_'), count('lora_te2_'), count('lora_unet_')], [18, 18, 89]);
  });

  it("both text encoders' outputs with the LoRA merged equal the merged checkpoint's", async () => {
    assert.ok(model.patching && model.second && merged.second);
    const ids = Int32Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : i < 5 ? 320 + i * 7 : 49407));
    const pairs: [ClipTextEncoder, ClipTextEncoder, ClipTextEncoder][] = [];
    for (const [component, ours, theirs] of [
      ['text_encoder', model.textEncoder, merged.textEncoder],
      ['text_encoder_2', model.second.textEncoder, merged.second.textEncoder],
    ] as const) {
      const session = await model.patching.merged[component]?.session([patch]);
      assert.ok(session, component);
      pairs.push([new ClipTextEncoder(session), theirs, ours]);
    }
    for (const [patched, oracle, unpatched] of pairs) {
      const [a, b, before] = await Promise.all([patched, oracle, unpatched].map((encoder) => encoder.encodeLayer([ids], { fromEnd: 1, pooled: encoder.projects })));
      assert.ok(a && b && before);
      assert.ok(maxAbsDifference(a.hidden, b.hidden) < SAME, `hidden: ${maxAbsDifference(a.hidden, b.hidden)}`);
      assert.ok(maxAbsDifference(a.hidden, before.hidden) > 100 * SAME, 'the LoRA changed nothing');
      if (a.pooled && b.pooled) assert.ok(maxAbsDifference(a.pooled, b.pooled) < SAME);
    }
  });

  it('the CLI draws with <lora:xl-lora:0.8> the picture of the merged checkpoint (and --lora alike)', async (t) => {
    const oracle = await draw(mergedCheckpoint, 'a lighthouse at dusk');
    const tagged = await draw(TINY_SDXL, `a lighthouse at dusk <lora:xl-lora:${MULTIPLIER}>`, ['--lora-dir', loraDir]);
    const flagged = await draw(TINY_SDXL, 'a lighthouse at dusk', ['--lora-dir', loraDir, '--lora', `xl-lora:${MULTIPLIER}`]);
    const plain = await draw(TINY_SDXL, 'a lighthouse at dusk');
    const worst = maxAbsDifference(tagged, oracle);
    t.diagnostic(`max |Δ| against the merged checkpoint: ${worst.toExponential(2)}; without the LoRA: ${maxAbsDifference(plain, oracle).toExponential(2)}`);
    assert.ok(worst < SAME, `max |Δ| ${worst}`);
    assert.ok(maxAbsDifference(flagged, oracle) < SAME);
    assert.ok(maxAbsDifference(plain, oracle) > 100 * SAME, 'the LoRA did not change the picture');
  });

  it("on the CUDA form: both text encoders whole, the UNet's layers the form keeps as they are (as for SD 1.x)", async () => {
    const cuda = join(dir, 'cuda');
    await convertCheckpoint(TINY_SDXL, cuda, { dtype: 'fp16', target: 'cuda' });
    const table = (component: string) => JSON.parse(readFileSync(join(cuda, component, 'weights.json'), 'utf8')) as PatchableWeight[];
    const weights = { text_encoder: table('text_encoder'), text_encoder_2: table('text_encoder_2'), unet: table('unet') };
    const { patches, warnings } = await new LoraLibrary(loraDir).patches([{ name: 'xl-lora', te: 1, unet: 1 }], weights);
    // Self-attention's q/k/v and cross-attention's k/v are packed, convolutions rearranged to NHWC: not matched.
    const kept = modules.filter((module) => !/attn1_to_[qkv]$|attn2_to_[kv]$|in_layers_2$/.test(module.key));
    const count = (prefix: string) => kept.filter((module) => module.key.startsWith(prefix)).length;
    assert.equal(patches[0]?.deltas.text_encoder.length, count('lora_te1_'));
    assert.equal(patches[0]?.deltas.text_encoder_2.length, count('lora_te2_'));
    assert.equal(patches[0]?.deltas.unet.length, count('lora_unet_'));
    assert.deepEqual(warnings, [`Only ${kept.length} of the ${modules.length} layers the LoRA xl-lora changes are in this model; the others were left out.`]);
  });

  it("PEFT's names (text_encoder.…, text_encoder_2.…, lora_A / lora_B) change the same weights by the same amounts", async () => {
    assert.ok(model.patching);
    const source = SafetensorsFile.open(loraFile);
    const peftName = (name: string): string | undefined => {
      const m = /^lora_te([12])_(.+)\.lora_(down|up)\.weight$/.exec(name);
      if (!m) return undefined;
      const path = (m[2] ?? '').replace(/^text_model_encoder_layers_(\d+)_(self_attn|mlp)_/, 'text_model.encoder.layers.$1.$2.');
      return `base_model.model.${m[1] === '1' ? 'text_encoder' : 'text_encoder_2'}.${path}.lora_${m[3] === 'down' ? 'A' : 'B'}.weight`;
    };
    const peftFile = join(dir, 'peft.safetensors');
    writeSafetensors(
      peftFile,
      source.names().flatMap((name) => {
        const renamed = peftName(name);
        const { dtype, shape } = source.info(name);
        return renamed ? [{ name: renamed, dtype, shape, data: source.readBytes(name) }] : [];
      }),
    );
    const peft = loraPatch(await readLora(peftFile), { name: 'peft', te: MULTIPLIER, unet: MULTIPLIER }, model.patching.weights);
    // PEFT's files carry no alpha: scale 1 where kohya's is alpha / rank = 1/2.
    const halved = (deltas: NetworkPatch['deltas']['text_encoder']) => deltas.map((delta) => ({ ...delta, scale: delta.scale / 2 }));
    assert.deepEqual(halved(peft.deltas.text_encoder), patch.deltas.text_encoder);
    assert.deepEqual(halved(peft.deltas.text_encoder_2), patch.deltas.text_encoder_2);
  });

  it("refuses a LoRA of the other family with the reason: SD 1.x's on SDXL, SDXL's on SD 1.x", async () => {
    assert.ok(model.patching);
    const sdxlWeights = model.patching.weights;
    const tiny = await readLora(TINY_LORA);
    assert.throws(
      () => loraPatch(lora, { name: 'xl', te: 1, unet: 1 }, { ...sdxlWeights, text_encoder_2: [] }),
      (error: unknown) => isNetworkError(error, 'NOT_A_NETWORK') && /xl-lora\.safetensors is a LoRA for SDXL models; this model is SD 1\.x \/ 2\.x/.test(error.message),
    );
    assert.throws(
      () => loraPatch(tiny, { name: 'tiny', te: 1, unet: 1 }, sdxlWeights),
      /tiny-lora\.safetensors is a LoRA for SD 1\.x \/ 2\.x models; this model is SDXL/,
    );
    copyFileSync(TINY_LORA, join(loraDir, 'tiny-lora.safetensors'));
    const args = ['--model', TINY_SDXL, '--prompt', 'x <lora:tiny-lora:1>', '--lora-dir', loraDir, '--steps', '1'];
    args.push('--width', '64', '--height', '64', '--ep', 'cpu', '--out', join(dir, 'x.png'));
    await assert.rejects(
      generateCommand.run(args, { stdout: captureStream(), stderr: captureStream() }),
      (error: unknown) => isNetworkError(error, 'NOT_A_NETWORK') && /LoRA for SD 1\.x \/ 2\.x models; this model is SDXL/.test(error.message),
    );
  });
});
