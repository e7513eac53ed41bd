// The CPU time of each result action on tiny-sd, as the bot runs it (a 64×64 picture, 8 steps): the first pass
// alone, the hires fix (`/imagine upscale`, ⬆️ Upscale, U1…Un) with each upscaler at 2×, and the variations of a
// picture (🔀 and V1…Vn at the default 0.6, Vary subtle 0.35 and strong 0.7), ⬆️ on a picture made from another
// (a variation, inpaint, zoom or pan: the picture enlarged 2× and redrawn at the default hiresStrength 0.5), and
// zoom out and pan (the inpainting of the canvas `outpaintCanvas` makes; the bot's paste-back is not timed).
import { outpaintCanvas, type Outpaint } from '../src/inputs/outpaint.js';
import { fromRgb8, StableDiffusionPipeline, type GenerateRequest } from '../src/pipeline/index.js';

const MODEL = 'test/fixtures/tiny-sd';
/** Runs per case; the fastest is reported (the others suffer more from whatever else the machine runs). */
const REPEATS = 3;
const BASE: GenerateRequest = { prompt: 'a lighthouse at dusk', seed: 1, width: 64, height: 64, steps: 8, sampler: 'dpmpp_2m_karras' };

const ACTIONS: [name: string, request: GenerateRequest][] = [
  ['txt2img 64×64 (the first pass)', BASE],
  ['upscale 2× Latent', { ...BASE, hires: { scale: 2, upscaler: 'latent' } }],
  ['upscale 2× Latent (nearest)', { ...BASE, hires: { scale: 2, upscaler: 'latent-nearest' } }],
  ['upscale 2× Lanczos', { ...BASE, hires: { scale: 2, upscaler: 'lanczos' } }],
];

const VARIATIONS: [name: string, strength: number][] = [
  ['Variations / V1…Vn (0.6)', 0.6],
  ['Vary (subtle) (0.35)', 0.35],
  ['Vary (strong) (0.7)', 0.7],
];

const OUTPAINTS: [name: string, outpaint: Outpaint][] = [
  ['Zoom out 1.5× (96×96)', { kind: 'zoom-out', factor: 1.5 }],
  ['Zoom out 2× (128×128)', { kind: 'zoom-out', factor: 2 }],
  ['Pan (64×64)', { kind: 'pan', direction: 'left' }],
];

/** Prints the fastest total time of each action. */
export async function benchActions(): Promise<void> {
  const pipeline = await StableDiffusionPipeline.load(MODEL, { provider: 'cpu' });
  try {
    // The picture the variations start from; also the warm-up (first-run allocations and JIT).
    const [picture] = (await pipeline.generate(BASE)).images;
    if (!picture) throw new Error('no picture');
    const variations = VARIATIONS.map(([name, strength]): [string, GenerateRequest] => [name, { ...BASE, initImage: picture.image, strength }]);
    const pictureUpscale: [string, GenerateRequest] = ['upscale 2× of a made picture', { ...BASE, width: 128, height: 128, initImage: picture.image, strength: 0.5 }];
    const outpaints = await Promise.all(
      OUTPAINTS.map(async ([name, outpaint]): Promise<[string, GenerateRequest]> => {
        const { canvas, mask } = await outpaintCanvas(picture.rgb8, outpaint, Infinity);
        const size = { width: canvas.width, height: canvas.height };
        return [name, { ...BASE, ...size, initImage: fromRgb8(canvas), mask, strength: 1 }];
      }),
    );
    for (const [name, request] of [...ACTIONS, ...variations, pictureUpscale, ...outpaints]) {
      let best = Number.POSITIVE_INFINITY;
      let calls = 0;
      for (let i = 0; i < REPEATS; i++) {
        const { timing } = await pipeline.generate(request);
        best = Math.min(best, timing.totalMs);
        calls = timing.steps;
      }
      console.log(`${name.padEnd(32)} ${best.toFixed(1)} ms (${calls} model calls)`);
    }
  } finally {
    await pipeline.dispose();
  }
}
