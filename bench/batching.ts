// Batching's throughput: images per minute for 4 compatible queued jobs run one at a time against the same jobs run
// as one batch (`StableDiffusionPipeline.generateBatch`, one UNet run per step). `measureBatching` takes any loaded
// pipeline, so the GPU bench (`npm run bench -- --gpu`) can call it on the full-size model; `benchBatching` runs it
// on tiny-sd on the CPU.
import { StableDiffusionPipeline, type GenerateRequest } from '../src/pipeline/index.js';

const MODEL = 'test/fixtures/tiny-sd';
/** Runs per case; the fastest is reported (the others suffer more from whatever else the machine runs). */
const REPEATS = 3;

/** What {@link measureBatching} found. */
export interface BatchThroughput {
  readonly jobs: number;
  readonly images: number;
  /** The jobs one after the other, ms (the fastest of the repeats). */
  readonly oneAtATimeMs: number;
  /** The jobs as one batch, ms (the fastest of the repeats). */
  readonly batchedMs: number;
  readonly oneAtATimePerMinute: number;
  readonly batchedPerMinute: number;
}

/**
 * Times `requests` (compatible: the same size, steps, sampler and CFG) one after the other and as one batch, after
 * a warm-up of each.
 */
export async function measureBatching(
  pipeline: StableDiffusionPipeline,
  requests: readonly GenerateRequest[],
  options: { readonly repeats?: number; readonly maxRows?: number } = {},
): Promise<BatchThroughput> {
  const repeats = options.repeats ?? REPEATS;
  const oneAtATime = async () => {
    for (const request of requests) await pipeline.generate(request);
  };
  const batched = async () => {
    await Promise.all(pipeline.generateBatch(requests.map((request) => ({ request })), options));
  };
  await oneAtATime();
  await batched();
  const oneAtATimeMs = await fastestOf(repeats, oneAtATime);
  const batchedMs = await fastestOf(repeats, batched);
  const images = requests.reduce((sum, request) => sum + (request.count ?? 1), 0);
  return {
    jobs: requests.length,
    images,
    oneAtATimeMs,
    batchedMs,
    oneAtATimePerMinute: (images * 60_000) / oneAtATimeMs,
    batchedPerMinute: (images * 60_000) / batchedMs,
  };
}

/** One line for a {@link BatchThroughput}. */
export function formatBatchThroughput(label: string, result: BatchThroughput): string {
  const { jobs, images, oneAtATimeMs, batchedMs, oneAtATimePerMinute, batchedPerMinute } = result;
  return (
    `${label}: ${jobs} compatible jobs (${images} images): one at a time ${oneAtATimeMs.toFixed(0)} ms, ` +
    `${oneAtATimePerMinute.toFixed(0)} images/min; batched ${batchedMs.toFixed(0)} ms, ${batchedPerMinute.toFixed(0)} images/min ` +
    `(×${(batchedPerMinute / oneAtATimePerMinute).toFixed(2)})`
  );
}

/** Four jobs that differ in prompt and seed and share everything a batch needs. */
export function compatibleJobs(shared: Omit<GenerateRequest, 'prompt' | 'seed'>): GenerateRequest[] {
  const prompts = ['a red fox in the snow', 'a lighthouse at dusk', 'an astronaut riding a horse', 'a bowl of ramen'];
  return prompts.map((prompt, i) => ({ ...shared, prompt, seed: 1000 + i }));
}

/** Prints the figures on tiny-sd, CPU provider, at 64² and 128², 20 steps DPM++ 2M Karras, CFG 7.5. */
export async function benchBatching(): Promise<void> {
  const pipeline = await StableDiffusionPipeline.load(MODEL, { provider: 'cpu' });
  try {
    for (const size of [64, 128]) {
      const jobs = compatibleJobs({ width: size, height: size, steps: 20, sampler: 'dpmpp_2m_karras', cfg: 7.5, seedMode: 'per-image' });
      console.log(formatBatchThroughput(`tiny-sd CPU ${size}×${size}`, await measureBatching(pipeline, jobs)));
    }
  } finally {
    await pipeline.dispose();
  }
}

async function fastestOf(runs: number, run: () => Promise<void>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}
