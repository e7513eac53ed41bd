// `npm run bench -- gpu`: the converted full-size SD 1.5 (run `npm run bench -- convert` first) on a GPU provider,
// at the figures' fixed setting: 512², 20 steps DPM++ 2M Karras, CFG 7.5, one image. Prints load time, the first
// (cold) generation, then the median of the warm ones: seconds per image, UNet ms per step (batch 2), VAE decode,
// and the device's peak memory as nvidia-smi reports it. BENCH_MODEL and BENCH_EP override the model and provider.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StableDiffusionPipeline, parseProviderChoice, type GenerationTiming } from '../src/pipeline/index.js';

const MODEL = process.env.BENCH_MODEL ?? fileURLToPath(new URL('../bench-out/convert/sd15-onnx-fp16', import.meta.url));
const WARM_RUNS = 5;
const REQUEST = {
  prompt: 'a lighthouse on a cliff at dusk, oil painting',
  seed: 1,
  width: 512,
  height: 512,
  steps: 20,
  cfg: 7.5,
  sampler: 'dpmpp_2m_karras',
} as const;

/** Memory in use on GPU 0 in MiB, or undefined where nvidia-smi is absent. */
function gpuMemoryMiB(): number | undefined {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8' });
    return Number.parseInt(out.split('\n')[0] ?? '', 10);
  } catch {
    return undefined;
  }
}

function describe(label: string, timing: GenerationTiming): string {
  return (
    `${label}: ${(timing.totalMs / 1000).toFixed(3)} s/image, UNet ${(timing.stepModelMs / timing.steps).toFixed(1)} ms/step ` +
    `(${timing.steps} calls), loop other ${(timing.stepOtherMs / timing.steps).toFixed(2)} ms/step, ` +
    `text encoder ${timing.textEncoderMs.toFixed(1)} ms, VAE decode ${timing.vaeDecoderMs.toFixed(1)} ms`
  );
}

export async function benchGpu(): Promise<void> {
  const provider = parseProviderChoice(process.env.BENCH_EP ?? 'cuda');
  const loadStart = performance.now();
  const pipeline = await StableDiffusionPipeline.load(MODEL, { provider });
  console.log(`loaded ${MODEL} on ${provider} in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
  let peak = gpuMemoryMiB() ?? 0;
  try {
    console.log(describe('first (cold)', (await pipeline.generate(REQUEST)).timing));
    const warm: GenerationTiming[] = [];
    for (let i = 0; i < WARM_RUNS; i++) {
      warm.push((await pipeline.generate({ ...REQUEST, seed: i + 2 })).timing);
      peak = Math.max(peak, gpuMemoryMiB() ?? 0);
    }
    warm.sort((a, b) => a.totalMs - b.totalMs);
    const median = warm[Math.floor(warm.length / 2)];
    if (median) console.log(describe(`median of ${WARM_RUNS} warm`, median));
    if (warm[0]) console.log(describe('best warm', warm[0]));
    console.log(peak > 0 ? `GPU memory in use (nvidia-smi, sampled after each run): ${(peak / 1024).toFixed(2)} GiB` : 'nvidia-smi not found');
  } finally {
    await pipeline.dispose();
  }
}
