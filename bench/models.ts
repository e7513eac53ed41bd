// `npm run bench -- models`: what switching models costs (issue 16). Two models of a MODELS_DIR (BENCH_MODELS: two
// checkpoint paths, comma-separated; default the tiny SD 1.5 and SDXL fixtures) in one pool: the first use of each
// (conversion into bench-out/models/cache, then loading), then a generation on a model right after one on the other
// (a switch between loaded models) against one right after one on the same model. BENCH_EP: the provider (cpu);
// BENCH_MODELS_CACHE: the conversion cache (default bench-out/models/cache; the GPU bench's bench-out/gpu-cache
// reuses its conversions); MODEL_DTYPE=fp16 for the GPU.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startModelPool } from '../src/local-pipeline.js';
import { createLogger } from '../src/log.js';
import { parseProviderChoice } from '../src/pipeline/index.js';
import { TINY_REQUEST } from '../test/support/requests.js';
import type { ModelPool } from '../src/generator/model-pool.js';

const OUT = fileURLToPath(new URL('../bench-out/models/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../test/fixtures/checkpoints/', import.meta.url));
const SOURCES = process.env.BENCH_MODELS?.split(',') ?? [join(FIXTURES, 'tiny-sd.safetensors'), join(FIXTURES, 'tiny-sdxl.safetensors')];
/** Alternations measured: the median is printed. */
const ROUNDS = 5;

export async function benchModels(): Promise<void> {
  const modelsDir = join(OUT, 'models');
  rmSync(modelsDir, { recursive: true, force: true });
  mkdirSync(modelsDir, { recursive: true });
  for (const source of SOURCES) copyFileSync(source, join(modelsDir, basename(source)));
  const provider = parseProviderChoice(process.env.BENCH_EP ?? 'cpu');
  const pool = await startModelPool(
    {
      MODEL_DIR: undefined,
      MODELS_DIR: modelsDir,
      MODEL_MEMORY_GB: 64,
      INPAINT_MODEL_DIR: undefined,
      EMBEDDINGS_DIR: undefined,
      LORA_DIR: undefined,
      MODEL_CACHE_DIR: process.env.BENCH_MODELS_CACHE ?? join(OUT, 'cache'),
      MODEL_DTYPE: process.env.MODEL_DTYPE === 'fp16' ? 'fp16' : 'fp32',
      EXECUTION_PROVIDER: provider,
      ONNX_NATIVE_BRIDGE: 'off',
      ONNX_CUDA_GRAPHS: 'off',
    },
    createLogger({ level: 'silent', secrets: [] }),
  );
  try {
    const [a, b] = pool.models.map((model) => model.name);
    if (a === undefined || b === undefined) throw new Error(`two models are needed, got ${pool.models.length}`);
    for (const name of [a, b]) console.log(`first use of ${name} (converted if not cached, then loaded): ${(await seconds(() => draw(pool, name))).toFixed(2)} s`);
    const switched: number[] = [];
    const same: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await draw(pool, a);
      switched.push(await seconds(() => draw(pool, b)));
      same.push(await seconds(() => draw(pool, b)));
    }
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');
    console.log(`${TINY_REQUEST.width}², ${TINY_REQUEST.steps} steps, ${provider}, median of ${ROUNDS} (load average ${load})`);
    console.log(`${b} after ${a} (a switch): ${ms(median(switched))}; ${b} after ${b}: ${ms(median(same))}; switch cost ${ms(median(switched) - median(same))}`);
  } finally {
    await pool.close();
  }
}

function draw(pool: ModelPool, model: string): Promise<unknown> {
  return pool.generate({ ...TINY_REQUEST, model }, { signal: new AbortController().signal, onProgress: () => undefined });
}

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function ms(secondsValue: number): string {
  return `${(secondsValue * 1000).toFixed(0)} ms`;
}
