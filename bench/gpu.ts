// `npm run bench -- --gpu [--family sdxl] [--model PATH]`: Stable Diffusion on the GPU at the figures' setting
// (SD 1.5: 512², 20 steps DPM++ 2M Karras, CFG 7.5; `--family sdxl`: SDXL at 1024², CFG 7, issue 16), for the CUDA form of the graphs and the portable form, each in a process of its own:
// text encoder ms, UNet ms per step (batch 2), loop overhead per step, VAE decode ms, s/image for count 1 and 4,
// images per minute with four compatible jobs batched vs one at a time, peak GPU memory (nvidia-smi, the whole
// process: one image at a time, and with count 4 and the batch), cold start to the first image (converted models
// cached), and the worst difference between the two forms' UNet and VAE outputs on the same inputs. With no --model it converts the benchmark's full-size random checkpoint of the family (bench/convert.ts)
// into both forms first; a checkpoint given is converted the same way; an ONNX folder is run as it is (one form).
// BENCH_EP picks the provider (default cuda). With `--bridge` each form is measured through onnxruntime-node's binding
// and through the native bridge to ONNX Runtime's C API (issue 17) without and with IoBinding for the UNet, with all
// its CUDA options and with each alone; `--cuda-graph` adds the bridge with IoBinding and CUDA graphs for the UNet.
// `BENCH_EP=cpu BENCH_SIZE=64 … --model test/fixtures/tiny-sd` is the dry run on the CPU (no GPU figures, same rows).
// With `--vae` each form also decodes a 2048² picture (BENCH_VAE_SIZE) whole and in tiles: time and peak memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isOnnxFolder, prepareModel } from '../src/convert/model-cache.js';
import type { GraphTarget } from '../src/convert/graphs/image-layers.js';
import { ensureBenchCheckpoint, type BenchFamily } from './convert.js';
import type { GpuChildResult, VaeChildResult } from './gpu-child.js';
import type { GenerationTiming } from '../src/pipeline/index.js';

const CACHE = fileURLToPath(new URL('../bench-out/gpu-cache/', import.meta.url));

/** The value after `flag` on the command line, if any. */
function argument(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at < 0 ? undefined : process.argv[at + 1];
}

/** The family of `--family` (default SD 1.5), refused with the known ones if it is none of them. */
function familyArgument(): BenchFamily {
  const family = argument('--family') ?? 'sd15';
  if (family !== 'sd15' && family !== 'sdxl') throw new RangeError(`Expected \`--family\` sd15 or sdxl, got ${family}`);
  return family;
}

/** The picture's side and CFG each family is measured at (issue 17's for SD 1.5, issue 16's for SDXL). */
const SETTINGS: Record<BenchFamily, { readonly size: number; readonly cfg: number }> = {
  sd15: { size: 512, cfg: 7.5 },
  sdxl: { size: 1024, cfg: 7 },
};

/** One way of creating the sessions: the bridge setting and CUDA options the child gets, and whether it runs `full`. */
interface Variant {
  readonly label: string;
  readonly env: Readonly<Record<string, string>>;
  readonly full: boolean;
}

/** Without `--bridge`: the sessions as the pipeline creates them by default. */
const DEFAULT_VARIANTS: readonly Variant[] = [{ label: '', env: {}, full: true }];

/**
 * `--bridge`: the plain binding, the bridge (`on`: CUDA, and the CPU for a dry run with BENCH_EP=cpu) without and with
 * its IoBinding for the UNet, and the bridge with one group of its CUDA options at a time.
 */
const BRIDGE_VARIANTS: readonly Variant[] = [
  { label: 'plain binding', env: { BENCH_BRIDGE: 'off' }, full: true },
  { label: 'bridge', env: { BENCH_BRIDGE: 'on', BENCH_IO_BINDING: '0' }, full: true },
  { label: 'bridge + IoBinding', env: { BENCH_BRIDGE: 'on' }, full: true },
  {
    label: 'bridge, HEURISTIC only',
    env: { BENCH_BRIDGE: 'on', BENCH_CUDA_OPTIONS: JSON.stringify({ arena_extend_strategy: '', cudnn_conv_use_max_workspace: '' }) },
    full: false,
  },
  {
    label: 'bridge, arena and workspace only',
    env: { BENCH_BRIDGE: 'on', BENCH_CUDA_OPTIONS: JSON.stringify({ cudnn_conv_algo_search: '' }) },
    full: false,
  },
];

/** `--cuda-graph` with `--bridge`: the bridge with IoBinding and CUDA graphs for the UNet, after the others. */
const CUDA_GRAPH_VARIANT: Variant = { label: 'bridge + IoBinding + CUDA graph', env: { BENCH_BRIDGE: 'on', BENCH_CUDA_GRAPH: '1' }, full: true };

/** Samples GPU 0's memory in use every 100 ms while it runs; `stop` gives the highest sample in MiB. */
function sampleGpuMemory(): { stop: () => number | undefined } {
  let peak: number | undefined;
  let smi: ChildProcess | undefined;
  try {
    smi = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-i', '0', '-lms', '100']);
    smi.on('error', () => undefined);
    smi.stdout?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        const mib = Number.parseInt(line, 10);
        if (Number.isFinite(mib)) peak = Math.max(peak ?? 0, mib);
      }
    });
  } catch {
    smi = undefined;
  }
  return {
    stop: () => {
      smi?.kill();
      return peak;
    },
  };
}

/** Runs bench/gpu-child.ts on `dir` in a new process (the same loader as this one), with GPU memory sampled. */
async function runChild(
  mode: 'single' | 'full',
  dir: string,
  provider: string,
  outDir: string,
  family: BenchFamily,
  variant: Variant,
): Promise<{ result: GpuChildResult; peakMiB?: number }>;
async function runChild(
  mode: 'vae',
  dir: string,
  provider: string,
  outDir: string,
  family: BenchFamily,
  variant: Variant,
): Promise<{ result: VaeChildResult; peakMiB?: number }>;
async function runChild(
  mode: 'baseline',
  dir: string,
  provider: string,
  outDir: string,
  family: BenchFamily,
  variant: Variant,
): Promise<{ result: object; peakMiB?: number }>;
async function runChild(
  mode: 'single' | 'full' | 'vae' | 'baseline',
  dir: string,
  provider: string,
  outDir: string,
  family: BenchFamily,
  variant: Variant,
): Promise<{ result: GpuChildResult | VaeChildResult | object; peakMiB?: number }> {
  const idle = sampleGpuMemory();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = idle.stop();
  const memory = sampleGpuMemory();
  const { size, cfg } = SETTINGS[family];
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', 'gpu-child', mode, dir, provider, outDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    // BENCH_SIZE set by hand wins (a tiny model on the CPU, to try the bench out).
    env: { BENCH_SIZE: String(size), ...process.env, BENCH_CFG: String(cfg), ...variant.env },
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const peak = memory.stop();
  if (code !== 0) throw new Error(`the GPU bench child for ${dir} exited with ${code}`);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const result = JSON.parse(line) as GpuChildResult | VaeChildResult | object;
  return peak === undefined ? { result } : { result, peakMiB: peak - (before ?? 0) };
}

function gib(mib: number | undefined): string {
  return mib === undefined ? 'unknown (no nvidia-smi)' : `${(mib / 1024).toFixed(2)} GiB`;
}

/** The figures of one form: `single` from a process that made one image at a time, `full` from one that did all. */
function describe(form: string, single: GpuChildResult, singlePeak: number | undefined, full: GpuChildResult, fullPeak: number | undefined): string {
  const r = full.count1;
  const perStep = (ms: number): string => (ms / r.steps).toFixed(2);
  const loopShare = (100 * r.stepOtherMs) / (r.stepModelMs + r.stepOtherMs);
  const oneAtATime = 60_000 / r.totalMs;
  const batched = full.batch4Ms === undefined ? undefined : (4 * 60_000) / full.batch4Ms;
  const four = full.count4?.totalMs ?? NaN;
  return [
    `${form} (UNet on ${full.providers['unet'] ?? '?'}):`,
    `  text encoder ${r.textEncoderMs.toFixed(1)} ms, UNet ${perStep(r.stepModelMs)} ms/step (batch 2, ${r.steps} calls${outsideRunCall(r)}), ` +
      `loop overhead ${perStep(r.stepOtherMs)} ms/step (${loopShare.toFixed(1)}% of the step; scheduler ${perStep(r.stepSchedulerMs)} ms), ` +
      `VAE decode ${r.vaeDecoderMs.toFixed(1)} ms`,
    `  s/image: count 1 ${(r.totalMs / 1000).toFixed(3)} s (+ PNG ${full.pngMs.toFixed(0)} ms), count 4 ${(four / 4000).toFixed(3)} s (${(four / 1000).toFixed(2)} s for 4)`,
    batched === undefined
      ? '  4 compatible jobs batched: not run'
      : `  4 compatible jobs batched: ${batched.toFixed(0)} images/min vs ${oneAtATime.toFixed(0)} one at a time (${(batched / oneAtATime).toFixed(2)}×)`,
    `  peak GPU memory (nvidia-smi, the whole process): ${gib(singlePeak)} making one image at a time, ${gib(fullPeak)} with count 4 and the batch`,
    `  cold start to the first image ${coldStart(single)}`,
  ].join('\n');
}

/** The cold start and its parts: start-up, loading (and its warm-up), the first image by stage. */
function coldStart(r: GpuChildResult): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  const warmUp = r.warmUpMs === undefined ? 'no warm-up' : `warm-up ${s(r.warmUpMs)}`;
  const f = r.firstImage;
  return (
    `${s(r.coldStartMs)}: Node and imports ${s(r.startUpMs)}, load ${s(r.loadMs)} (${warmUp}), first image ${s(f.totalMs)} ` +
    `(text encoder ${f.textEncoderMs.toFixed(0)} ms, UNet ${f.stepModelMs.toFixed(0)} ms, VAE ${f.vaeDecoderMs.toFixed(0)} ms)`
  );
}

/** The part of a UNet step outside ONNX Runtime's own run call (copies in and out), where the session tells it. */
function outsideRunCall(r: GenerationTiming): string {
  if (r.stepRunCallMs === undefined) return '';
  return `; ${((r.stepModelMs - r.stepRunCallMs) / r.steps).toFixed(3)} ms/step of it outside ONNX Runtime's run call`;
}

/** The figures of a variant measured by one `single` child: a step's time, one image, its memory, its cold start. */
function describeSingle(label: string, single: GpuChildResult, peak: number | undefined): string {
  const r = single.count1;
  return (
    `${label} (UNet on ${single.providers['unet'] ?? '?'}): UNet ${(r.stepModelMs / r.steps).toFixed(2)} ms/step, ` +
    `s/image count 1 ${(r.totalMs / 1000).toFixed(3)} s, peak GPU memory ${gib(peak)}, cold start ${coldStart(single)}`
  );
}

/**
 * The GPU memory of a process with one session of a one-node model: the CUDA context and the provider's start, part
 * of every peak below (diffusers' 2.64 GB is what torch allocates, which leaves them out).
 */
async function benchBaseline(provider: string, pictures: string, family: BenchFamily): Promise<void> {
  const outDir = join(pictures, 'baseline');
  mkdirSync(outDir);
  try {
    const { peakMiB } = await runChild('baseline', '', provider, outDir, family, { label: '', env: {}, full: false });
    console.log(`GPU memory of a process with one session of a one-node model (CUDA context, the provider's start): ${gib(peakMiB)}`);
  } catch (error) {
    console.log(`GPU memory of a process with one session of a one-node model: failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A large picture decoded whole and in tiles, each in a child of its own: time and peak GPU memory. */
async function benchVaeTiling(form: string, dir: string, provider: string, outDir: string, family: BenchFamily): Promise<void> {
  mkdirSync(outDir);
  for (const mode of ['never', 'always'] as const) {
    const variant = { label: '', env: { BENCH_VAE_TILING: mode }, full: false };
    try {
      const { result, peakMiB } = await runChild('vae', dir, provider, outDir, family, variant);
      const how = mode === 'never' ? 'whole' : 'in tiles';
      console.log(`${form}: VAE decode of ${result.side}² ${how}: ${result.vaeMs.toFixed(0)} ms, peak GPU memory ${gib(peakMiB)}`);
    } catch (error) {
      console.log(`${form}: VAE decode with tiling ${mode}: failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/**
 * The worst and mean absolute difference of two float32 files over the values finite in both, the largest magnitude
 * in the first, and how many values are not finite in each (an fp16 overflow of random weights shows there).
 */
function worstDifference(a: string, b: string): { max: number; mean: number; scale: number; nonFinite: [number, number] } {
  const x = new Float32Array(new Uint8Array(readFileSync(a)).buffer);
  const y = new Float32Array(new Uint8Array(readFileSync(b)).buffer);
  let max = 0;
  let sum = 0;
  let scale = 0;
  let compared = 0;
  const nonFinite: [number, number] = [0, 0];
  for (let i = 0; i < x.length; i++) {
    const [u = NaN, v = NaN] = [x[i], y[i]];
    if (!Number.isFinite(u)) nonFinite[0]++;
    if (!Number.isFinite(v)) nonFinite[1]++;
    if (!Number.isFinite(u) || !Number.isFinite(v)) continue;
    const d = Math.abs(u - v);
    max = Math.max(max, d);
    scale = Math.max(scale, Math.abs(u));
    sum += d;
    compared++;
  }
  return { max, mean: sum / Math.max(compared, 1), scale, nonFinite };
}

/** The model folders to compare: the given ONNX folder, or the two forms of a checkpoint (converted, cached). */
async function modelForms(model: string | undefined, family: BenchFamily): Promise<[label: string, dir: string][]> {
  if (model !== undefined && isOnnxFolder(model)) return [[model, model]];
  const source = model ?? ensureBenchCheckpoint(family);
  const forms: [string, string][] = [];
  // BENCH_FORMS=cuda measures one form (a shorter run on the GPU host).
  const targets = (process.env.BENCH_FORMS ?? 'cuda,portable').split(',').filter((t): t is GraphTarget => t === 'cuda' || t === 'portable');
  for (const target of targets) {
    const started = performance.now();
    const prepared = await prepareModel(source, { cacheDir: CACHE, dtype: 'fp16', target });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`${target} form: ${prepared.dir} (${prepared.converted ? `converted in ${seconds} s` : 'cached'})`);
    forms.push([`${target} form`, prepared.dir]);
  }
  return forms;
}

export async function benchGpu(): Promise<void> {
  const provider = process.env.BENCH_EP ?? 'cuda';
  mkdirSync(CACHE, { recursive: true });
  const family = familyArgument();
  const { size, cfg } = SETTINGS[family];
  console.log(`${family}: ${process.env.BENCH_SIZE ?? size}², 20 steps DPM++ 2M Karras, CFG ${cfg}, ${provider}`);
  const forms = await modelForms(argument('--model'), family);
  const pictures = mkdtempSync(join(tmpdir(), 'dreamcord-gpu-bench-'));
  const labels: string[] = [];
  try {
    const outDirs: string[] = [];
    const variants = !process.argv.includes('--bridge')
      ? DEFAULT_VARIANTS
      : process.argv.includes('--cuda-graph')
        ? [...BRIDGE_VARIANTS.slice(0, 3), CUDA_GRAPH_VARIANT, ...BRIDGE_VARIANTS.slice(3)]
        : BRIDGE_VARIANTS;
    await benchBaseline(provider, pictures, family);
    for (const [i, [form, dir]] of forms.entries()) {
      for (const [j, variant] of variants.entries()) {
        const label = variant.label ? `${form}, ${variant.label}` : form;
        const outDir = join(pictures, `${i}-${j}`);
        mkdirSync(outDir);
        // The children's log lines (which binding each model runs on, fallbacks) come under this line.
        console.log(`\n${label}: running`);
        try {
          const single = await runChild('single', dir, provider, outDir, family, variant);
          if (!variant.full) {
            console.log(describeSingle(label, single.result, single.peakMiB));
            continue;
          }
          const full = await runChild('full', dir, provider, outDir, family, variant);
          console.log(describe(label, single.result, single.peakMiB, full.result, full.peakMiB));
          outDirs.push(outDir);
          labels.push(label);
        } catch (error) {
          console.log(`${label}: failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (process.argv.includes('--vae')) await benchVaeTiling(form, dir, provider, join(pictures, `${i}-vae`), family);
    }
    for (const [k, second] of outDirs.entries()) {
      const first = outDirs[0];
      if (k === 0 || first === undefined) continue;
      for (const [file, what] of [
        ['unet.f32', 'UNet prediction (batch 2, t = 500)'],
        ['vae.f32', 'VAE decoder picture (in [-1, 1])'],
      ] as const) {
        if (!existsSync(join(first, file)) || !existsSync(join(second, file))) continue;
        const { max, mean, scale, nonFinite } = worstDifference(join(first, file), join(second, file));
        const notFinite = nonFinite[0] + nonFinite[1] === 0 ? '' : `; values not finite: ${nonFinite[0]} and ${nonFinite[1]}, left out`;
        console.log(
          `${labels[0]} vs ${labels[k]}, ${what} on fixed inputs: worst difference ${max.toExponential(2)}, ` +
            `mean ${mean.toExponential(2)} (largest value ${scale.toFixed(2)}${notFinite})`,
        );
      }
    }
  } finally {
    rmSync(pictures, { recursive: true, force: true });
  }
}
