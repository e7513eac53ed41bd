// The content classifier (issue 20): the time to classify one 512×512 result, as the bot does it (on the classifier's
// worker thread, the picture sent across), and the time to load the model. Target: ≤ 150 ms per picture on the
// project's 2-core machine. Pictures: the fixtures' img2img input scaled to 512², and random noise.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import sharp from 'sharp';
import { WorkerClassifier } from '../src/content/content-classifier.js';
import type { Rgb8Image } from '../src/pipeline/index.js';

const SIDE = 512;
const WARMUP = 3;
const RUNS = 30;

/** Prints the load time and the median, p90 and best time per 512² picture. */
export async function benchNsfw(): Promise<void> {
  const started = performance.now();
  const classifier = await WorkerClassifier.start({}, () => undefined);
  const loadMs = performance.now() - started;
  try {
    if (!classifier.available) throw new Error('The content classifier did not load.');
    const pictures = [await fixturePicture(), noisePicture()];
    for (let i = 0; i < WARMUP; i++) await classifier.classify(pictures[i % pictures.length] as Rgb8Image);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const begin = performance.now();
      const classification = await classifier.classify(pictures[i % pictures.length] as Rgb8Image);
      times.push(performance.now() - begin);
      if (!classification.ok) throw new Error(`A classification failed: ${classification.message}`);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN).toFixed(1);
    console.log(`nsfw: load ${(loadMs / 1000).toFixed(2)} s (worker start, WASM backend, MobileNetV2 weights, one warm-up run)`);
    console.log(`nsfw: per ${SIDE}² picture: median ${at(0.5)} ms, p90 ${at(0.9)} ms, best ${at(0)} ms (${RUNS} runs)`);
    console.log(`nsfw: machine: ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(2)}`);
  } finally {
    await classifier.close();
  }
}

async function fixturePicture(): Promise<Rgb8Image> {
  const { data, info } = await sharp(readFileSync('test/fixtures/references/init_image.png'))
    .resize(SIDE, SIDE)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

function noisePicture(): Rgb8Image {
  const data = new Uint8Array(SIDE * SIDE * 3);
  let state = 1;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    data[i] = state >> 23;
  }
  return { width: SIDE, height: SIDE, data };
}
