// `npm run bench -- lora`: what a LoRA costs. Prints one generation without a LoRA, with a LoRA set the model has
// not merged yet (reading the file, merging every changed weight in ONNX Runtime, creating the merged sessions),
// and with the same set again (kept merged), and the process memory one merged set adds. BENCH_CHECKPOINT: the
// model (a .safetensors checkpoint or diffusers folder, converted into bench-out/model-cache; default tiny-sd);
// BENCH_LORA: a LoRA file, or `random` for an SD 1.5-shaped rank-128 LoRA on every attention and feed-forward
// Linear of the model (default the tiny-lora fixture); BENCH_EP: the provider (default cpu).
import { randomFillSync } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareModel } from '../src/convert/model-cache.js';
import { LoraLibrary } from '../src/networks/index.js';
import { parseProviderChoice, PATCHED_COMPONENTS, StableDiffusionPipeline, type PatchableWeight, type PatchedComponent } from '../src/pipeline/index.js';
import { writeSafetensors } from '../test/support/safetensors-writer.js';

const OUT = fileURLToPath(new URL('../bench-out/lora/', import.meta.url));
const CHECKPOINT = process.env.BENCH_CHECKPOINT ?? fileURLToPath(new URL('../test/fixtures/checkpoints/tiny-sd.safetensors', import.meta.url));
const RANK = 128;
/** The Linear layers kohya's LoRA trainers target: attention projections and feed-forward layers. */
const TARGETED = /(attn[12]\.to_[qkv]|attn[12]\.to_out\.0|ff\.net\.0\.proj|ff\.net\.2|self_attn\.[qkv]_proj|self_attn\.out_proj|mlp\.fc[12])\.weight:T$/;

export async function benchLora(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const full = process.env.BENCH_CHECKPOINT !== undefined;
  const prepared = await prepareModel(CHECKPOINT, { cacheDir: join(OUT, '..', 'model-cache'), dtype: process.env.MODEL_DTYPE === 'fp16' ? 'fp16' : 'fp32' });
  const pipeline = await StableDiffusionPipeline.load(prepared.dir, { provider: parseProviderChoice(process.env.BENCH_EP ?? 'cpu') });
  try {
    const weights = pipeline.info.patchableWeights;
    if (!weights) throw new Error(`${prepared.dir} has no weight tables: convert it with this version of dreamcord`);
    const { dir, name } = loraFile(weights);
    const library = new LoraLibrary(dir);
    const size = full ? 512 : 64;
    const request = { prompt: 'a lighthouse at dusk', seed: 1, width: size, height: size, steps: full ? 20 : 4, sampler: 'dpmpp_2m_karras' };
    await pipeline.generate({ ...request, steps: 1 }); // warm-up
    const plain = await seconds(() => pipeline.generate(request));
    const rssBefore = process.memoryUsage().rss;
    const merged = await seconds(async () => {
      const { patches } = await library.patches([{ name, te: 0.8, unet: 0.8 }], weights);
      return pipeline.generate({ ...request, networks: patches });
    });
    const rssAfter = process.memoryUsage().rss;
    const cached = await seconds(async () => {
      const { patches } = await library.patches([{ name, te: 0.8, unet: 0.8 }], weights);
      return pipeline.generate({ ...request, networks: patches });
    });
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');
    console.log(`${prepared.dir}, ${size}², ${request.steps} steps, LoRA ${name} (load average ${load})`);
    console.log(`no LoRA ${plain.toFixed(2)} s; new set ${merged.toFixed(2)} s; cached set ${cached.toFixed(2)} s`);
    console.log(`memory per merged set: ${((rssAfter - rssBefore) / 2 ** 20).toFixed(0)} MiB (process RSS)`);
  } finally {
    await pipeline.dispose();
  }
}

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

/** The LoRA to measure: BENCH_LORA's file, a random rank-128 one for the model, or the tiny-lora fixture. */
function loraFile(weights: Readonly<Record<PatchedComponent, readonly PatchableWeight[]>>): { dir: string; name: string } {
  const chosen = process.env.BENCH_LORA;
  if (chosen === 'random') return { dir: OUT, name: writeRandomLora(weights) };
  const file = chosen ?? fileURLToPath(new URL('../test/fixtures/checkpoints/tiny-lora.safetensors', import.meta.url));
  const slash = file.lastIndexOf('/');
  return { dir: file.slice(0, slash), name: file.slice(slash + 1).replace(/\.safetensors$/, '') };
}

/** A kohya LoRA of random factors (±0.01) at rank 128 on every targeted Linear; returns its name. */
function writeRandomLora(weights: Readonly<Record<PatchedComponent, readonly PatchableWeight[]>>): string {
  // kohya's names: SDXL's encoders are te1 and te2, SD 1.x's one encoder te.
  const sdxl = weights.text_encoder_2.length > 0;
  const prefixes: Record<PatchedComponent, string> = { text_encoder: sdxl ? 'lora_te1_' : 'lora_te_', text_encoder_2: 'lora_te2_', unet: 'lora_unet_' };
  const tensors = PATCHED_COMPONENTS.flatMap((component) =>
    weights[component]
      .filter((weight) => TARGETED.test(weight.name))
      .flatMap((weight) => {
        const [inputs = 0, outputs = 0] = weight.dims;
        const rank = Math.min(RANK, inputs, outputs);
        const key = prefixes[component] + weight.name.slice(0, -'.weight:T'.length).replaceAll('.', '_');
        return [
          { name: `${key}.lora_down.weight`, dtype: 'F32', shape: [rank, inputs], data: randomFactors(rank * inputs) },
          { name: `${key}.lora_up.weight`, dtype: 'F32', shape: [outputs, rank], data: randomFactors(outputs * rank) },
        ];
      }),
  );
  writeSafetensors(join(OUT, 'random-lora.safetensors'), tensors);
  return 'random-lora';
}

function randomFactors(count: number): Uint8Array {
  const bits = randomFillSync(new Uint32Array(count));
  return new Uint8Array(Float32Array.from(bits, (b) => (b / 2 ** 32 - 0.5) * 0.02).buffer);
}
