// Run by bench/gpu.ts in a process of its own per graph form, so that its start-up and GPU memory are its own:
// loads the model folder, makes the first image (cold start), then times warm generations at the figures' setting
// (20 steps DPM++ 2M Karras; the side BENCH_SIZE and CFG BENCH_CFG from the parent, per family) with count 1 (mode `single` stops there, for the memory one image
// takes) and, in mode `full`, count 4 and four compatible jobs batched, and writes the UNet's and the VAE
// decoder's outputs on fixed inputs for the parent to compare between forms. Mode `vae` only decodes a large
// picture (BENCH_VAE_SIZE², default 2048²) with the VAE tiling BENCH_VAE_TILING (never / always), for the memory
// tiling saves. Prints one JSON line.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  StableDiffusionPipeline,
  parseProviderChoice,
  type GenerateRequest,
  type GenerationTiming,
  type PipelineLogger,
} from '../src/pipeline/index.js';
import { encodePng } from '../src/pipeline/image/png.js';
import type { Rgb8Image } from '../src/pipeline/image/types.js';
import { readModelFolder, unetCudaGraph } from '../src/pipeline/models/model-folder.js';
import { VaeDecoder } from '../src/pipeline/models/vae-decoder.js';
import { identityModel } from '../src/pipeline/runtime/native/device-copy.js';
import { resolveVaeTiling, type VaeTilingMode } from '../src/pipeline/models/vae-tiling.js';
import type { ModelSession } from '../src/pipeline/runtime/session.js';
import { SessionFactory } from '../src/pipeline/runtime/session-factory.js';
import { constantTensor, type HostTensor } from '../src/pipeline/runtime/tensor.js';
import { seededRandom } from '../test/support/seeded-random.js';

/** The picture's side and CFG, set by bench/gpu.ts for the family measured. */
const SIZE = Number(process.env.BENCH_SIZE ?? 512);
const REQUEST: GenerateRequest = {
  prompt: 'a lighthouse on a cliff at dusk, oil painting',
  seed: 1,
  width: SIZE,
  height: SIZE,
  steps: 20,
  cfg: Number(process.env.BENCH_CFG ?? 7.5),
  sampler: 'dpmpp_2m_karras',
};
const WARM_RUNS = 5;

/**
 * How the parent asks for the native bridge (BENCH_BRIDGE: auto, on, off), CUDA provider options over the bridge's
 * own (BENCH_CUDA_OPTIONS, JSON; `""` removes one), to measure each knob, the bridge's IoBinding off
 * (BENCH_IO_BINDING=0) and CUDA graphs for the UNet (BENCH_CUDA_GRAPH=1).
 */
function bridgeOptions(): { nativeBridge?: 'auto' | 'on' | 'off'; cudaOptions?: Record<string, string>; ioBinding?: boolean; cudaGraph?: 'on' } {
  const bridge = process.env.BENCH_BRIDGE;
  const options = process.env.BENCH_CUDA_OPTIONS;
  return {
    ...(bridge === 'auto' || bridge === 'on' || bridge === 'off' ? { nativeBridge: bridge } : {}),
    ...(options ? { cudaOptions: JSON.parse(options) as Record<string, string> } : {}),
    ...(process.env.BENCH_IO_BINDING === '0' ? { ioBinding: false } : {}),
    ...(process.env.BENCH_CUDA_GRAPH === '1' ? { cudaGraph: 'on' as const } : {}),
  };
}
/** Timed runs of count 4 (after an untimed one: a new batch shape's first run pays its set-up), the median kept. */
const COUNT4_RUNS = 3;

/**
 * The pipeline's logger: records the warm-up's time, and with `verbose` writes the warnings (a fallback: the bridge,
 * CUDA graphs) and which binding each model runs on to stderr.
 */
function benchLogger(verbose: boolean): { log: PipelineLogger; warmUpMs: () => number | undefined } {
  let warmUpMs: number | undefined;
  const log: PipelineLogger = (level, message, fields) => {
    if (message === 'pipeline warmed up' && typeof fields.ms === 'number') warmUpMs = fields.ms;
    if (!verbose) return;
    if (level === 'warn' || level === 'error') process.stderr.write(`  ${level}: ${message} ${JSON.stringify(fields)}\n`);
    else if (message === 'model loaded') process.stderr.write(`  ${String(fields.file)}: ${String(fields.provider)}, ${String(fields.binding)} (${String(fields.why)})\n`);
  };
  return { log, warmUpMs: () => warmUpMs };
}

export interface GpuChildResult {
  readonly providers: Readonly<Record<string, string>>;
  /** From the process's start to the pipeline's load call: Node and the imports. */
  readonly startUpMs: number;
  /** The load call, warm-up included. */
  readonly loadMs: number;
  /** The warm-up's part of {@link loadMs}, when the pipeline warmed up. */
  readonly warmUpMs?: number;
  /** From the process's start (Node, imports, loading) to the first image. */
  readonly coldStartMs: number;
  readonly firstImage: GenerationTiming;
  /** Median warm generation, count 1. */
  readonly count1: GenerationTiming;
  readonly pngMs: number;
  /** Mode `full` only. */
  readonly count4?: GenerationTiming;
  /** Four compatible jobs through `generateBatch`, all four done (mode `full` only). */
  readonly batch4Ms?: number;
}

/** The median of five PNG encodings of `picture` after an untimed one (the first call starts libvips up). */
async function timePng(picture: Rgb8Image | undefined): Promise<number> {
  if (!picture) return NaN;
  await encodePng(picture);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    await encodePng(picture);
    times.push(performance.now() - start);
  }
  return median(times, (t) => t);
}

function median<T>(values: T[], key: (value: T) => number): T {
  const sorted = [...values].sort((a, b) => key(a) - key(b));
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (middle === undefined) throw new Error('no runs');
  return middle;
}

export async function gpuChild(mode: string, dir: string, provider: string, outDir: string): Promise<void> {
  if (mode === 'vae') return vaeChild(dir, provider);
  if (mode === 'baseline') return baselineChild(provider, outDir);
  // performance.now() counts from the process's start.
  const startUpMs = performance.now();
  const { log, warmUpMs } = benchLogger(mode === 'single');
  const pipeline = await StableDiffusionPipeline.load(dir, { provider: parseProviderChoice(provider), ...bridgeOptions(), log });
  const loadMs = performance.now() - startUpMs;
  let result: GpuChildResult;
  try {
    const first = await pipeline.generate(REQUEST);
    const coldStartMs = performance.now();
    const warm: GenerationTiming[] = [];
    for (let i = 0; i < WARM_RUNS; i++) warm.push((await pipeline.generate({ ...REQUEST, seed: i + 2 })).timing);
    const pngMs = await timePng(first.images[0]?.rgb8);
    const count1 = median(warm, (t) => t.totalMs);
    const warmUp = warmUpMs();
    result = { providers: pipeline.info.providers, startUpMs, loadMs, ...(warmUp === undefined ? {} : { warmUpMs: warmUp }), coldStartMs, firstImage: first.timing, count1, pngMs };
    if (mode === 'full') {
      await pipeline.generate({ ...REQUEST, seed: 9, count: 4 });
      const four: GenerationTiming[] = [];
      for (let i = 0; i < COUNT4_RUNS; i++) four.push((await pipeline.generate({ ...REQUEST, seed: 10 + i, count: 4 })).timing);
      const batchOfFour = (seed: number): Promise<unknown> =>
        Promise.all(pipeline.generateBatch([0, 1, 2, 3].map((i) => ({ request: { ...REQUEST, prompt: `${REQUEST.prompt}, variant ${i}`, seed: seed + i } }))));
      // The batch's first run, untimed, as count 4's: its shapes' first runs pay their set-up.
      await batchOfFour(20);
      const batchStart = performance.now();
      await batchOfFour(30);
      result = { ...result, count4: median(four, (t) => t.totalMs), batch4Ms: performance.now() - batchStart };
    }
  } finally {
    await pipeline.dispose();
  }
  if (mode === 'full') await writeRawOutputs(dir, provider, outDir);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** What a `vae` child measured: the median decode of a BENCH_VAE_SIZE² picture, and whether it was tiled. */
export interface VaeChildResult {
  readonly vaeMs: number;
  readonly side: number;
  readonly mode: VaeTilingMode;
}

/** Decodes a large picture three times (the first warms cuDNN up) with one tiling mode; prints the median. */
async function vaeChild(dir: string, provider: string): Promise<void> {
  const side = Number(process.env.BENCH_VAE_SIZE ?? 2048);
  const mode = (process.env.BENCH_VAE_TILING ?? 'never') as VaeTilingMode;
  const sessions = new SessionFactory({ provider: parseProviderChoice(provider), ...bridgeOptions() });
  try {
    const session = await sessions.load(join(dir, 'vae_decoder', 'model.onnx'));
    const decoder = new VaeDecoder(session, { tiling: resolveVaeTiling({ mode }, SIZE) });
    const latent = side / 8;
    const latents = fixedValues(5, 4 * latent * latent);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      await decoder.decode(latents, latent, latent);
      times.push(performance.now() - start);
    }
    const result: VaeChildResult = { vaeMs: median(times, (t) => t), side, mode };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await sessions.releaseAll();
  }
}

/**
 * Creates one session of a one-node model on the provider and runs it once: the GPU memory of such a process is the
 * CUDA context and the provider's own start (cuDNN and cuBLAS), which every model process pays before its weights.
 */
async function baselineChild(provider: string, outDir: string): Promise<void> {
  const file = join(outDir, 'identity.onnx');
  writeFileSync(file, identityModel(1)); // float32
  const sessions = new SessionFactory({ provider: parseProviderChoice(provider), ...bridgeOptions() });
  try {
    const session = await sessions.load(file);
    await session.run({ x: input([1, 4], 1) });
  } finally {
    await sessions.releaseAll();
  }
  process.stdout.write('{}\n');
}

/** Gaussian-ish values of a fixed seed (sum of uniforms), as float32. */
function fixedValues(seed: number, length: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => random() + random() + random() - 1.5);
}

function input(dims: number[], seed: number): HostTensor {
  return { type: 'float32', data: fixedValues(seed, dims.reduce((a, b) => a * b, 1)), dims };
}

/**
 * SDXL's added conditioning for a batch of 2, when the UNet takes it: a fixed pooled text embedding and the size
 * conditioning of a square picture of the bench's side.
 */
function addedConditioning(unet: ModelSession): Record<string, HostTensor> {
  const pooled = unet.input('text_embeds')?.shape[1];
  if (pooled === undefined) return {};
  const timeIds = [SIZE, SIZE, 0, 0, SIZE, SIZE];
  return {
    text_embeds: input([2, Number(pooled)], 4),
    time_ids: { type: 'float32', data: Float32Array.from([...timeIds, ...timeIds]), dims: [2, 6] },
  };
}

/**
 * The UNet's prediction (batch 2, t = 500) and the VAE decoder's picture, at the bench's size, on fixed
 * inputs, as `unet.f32` and `vae.f32`: the same computation in both forms, so their difference is the forms' own.
 */
async function writeRawOutputs(dir: string, provider: string, outDir: string): Promise<void> {
  const sessions = new SessionFactory({ provider: parseProviderChoice(provider), ...bridgeOptions() });
  try {
    // As the pipeline loads it (CUDA graphs only for the CUDA form).
    const unet = await sessions.load(join(dir, 'unet', 'model.onnx'), { cudaGraph: unetCudaGraph(readModelFolder(dir)) });
    const side = SIZE / 8;
    const [, channels = 4] = unet.input('sample')?.shape ?? [];
    const [, , width = 768] = unet.input('encoder_hidden_states')?.shape ?? [];
    const feeds = {
      sample: input([2, Number(channels), side, side], 1),
      timestep: { type: 'float32', data: Float32Array.of(500, 500), dims: [2] },
      // A job's conditioning, as the pipeline feeds it: through IoBinding, bound once; with CUDA graphs, the third
      // run replays the graph the second captured, so the prediction written is the replay's.
      encoder_hidden_states: constantTensor(input([2, 77, Number(width)], 2)),
      ...addedConditioning(unet),
    } as const;
    let prediction = await unet.run(feeds);
    for (let run = 2; run <= 3; run++) prediction = await unet.run(feeds);
    if (prediction['out_sample']) writeFileSync(join(outDir, 'unet.f32'), prediction['out_sample'].data);
    await sessions.releaseAll();
    const vae = await sessions.load(join(dir, 'vae_decoder', 'model.onnx'));
    const picture = await vae.run({ latent_sample: input([1, 4, side, side], 3) });
    if (picture['sample']) writeFileSync(join(outDir, 'vae.f32'), picture['sample'].data);
  } finally {
    await sessions.releaseAll();
  }
}
