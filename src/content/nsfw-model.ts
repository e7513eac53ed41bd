// The classifier itself, on the content worker's thread: nsfwjs's MobileNetV2 on TensorFlow.js's WASM backend
// (portable, no native build, about 90 ms per 512² picture on one CPU core).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { NSFWJS } from 'nsfwjs/core';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';
import type { Rgb8Image } from '../pipeline/index.js';
import { CONTENT_CLASSES, type ContentScores } from './scores.js';

/** The side nsfwjs's models take; pictures are scaled to it. */
const MODEL_INPUT_SIZE = 224;

/** A TensorFlow.js `model.json`, as far as loading it needs. */
interface ModelJson {
  readonly format?: string;
  readonly modelTopology: object;
  readonly weightsManifest: readonly { readonly paths: readonly string[]; readonly weights: tf.io.WeightsManifestEntry[] }[];
}

/** A loaded classifier: scores for one picture at a time. */
export interface NsfwModel {
  /** What was loaded, for the log: "nsfwjs MobileNetV2 (bundled)" or the folder. */
  readonly name: string;
  classify(image: Rgb8Image): Promise<ContentScores>;
}

/** Loads the bundled model, or the TensorFlow.js model in `modelDir`; throws a sentence saying what failed. */
export async function loadNsfwModel(modelDir?: string): Promise<NsfwModel> {
  // The .wasm files ship inside the backend's package, next to its entry.
  setWasmPaths(`${dirname(fileURLToPath(import.meta.resolve('@tensorflow/tfjs-backend-wasm')))}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js could not start its WASM backend.');
  const { json, weights } = modelDir === undefined ? await bundledModel() : await folderModel(modelDir);
  const handler = tf.io.fromMemory({
    modelTopology: json.modelTopology,
    format: json.format,
    weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
    weightData: weights,
  });
  const net = new NSFWJS(handler, { size: MODEL_INPUT_SIZE, ...(json.format === 'graph-model' ? { type: 'graph' } : {}) });
  await net.load();
  return {
    name: modelDir === undefined ? 'nsfwjs MobileNetV2 (bundled)' : modelDir,
    async classify(image) {
      const pixels = tf.tensor3d(Int32Array.from(image.data), [image.height, image.width, 3], 'int32');
      try {
        return scoresOf(await net.classify(pixels, CONTENT_CLASSES.length));
      } finally {
        pixels.dispose();
      }
    },
  };
}

/** nsfwjs's predictions, by class. */
function scoresOf(predictions: readonly { className: string; probability: number }[]): ContentScores {
  const byClass = new Map(predictions.map((p) => [p.className.toLowerCase(), p.probability]));
  const score = (name: string) => {
    const value = byClass.get(name);
    if (value === undefined) throw new Error(`The model gave no "${name}" score: it is not an nsfwjs classifier.`);
    return value;
  };
  return { drawing: score('drawing'), hentai: score('hentai'), neutral: score('neutral'), porn: score('porn'), sexy: score('sexy') };
}

/** The MobileNetV2 that nsfwjs's package carries: its model.json, and its weights as base64 in a script. */
async function bundledModel(): Promise<{ json: ModelJson; weights: ArrayBuffer }> {
  const json = (await MobileNetV2Model.modelJson()).default as unknown as ModelJson;
  const shards = await Promise.all(MobileNetV2Model.weightBundles.map(async (bundle) => Buffer.from((await bundle()).default, 'base64')));
  return { json, weights: concat(shards) };
}

/** A model folder as TensorFlow.js's converter writes it: `model.json` and the weight files it lists. */
async function folderModel(dir: string): Promise<{ json: ModelJson; weights: ArrayBuffer }> {
  const jsonPath = join(dir, 'model.json');
  const text = await readFile(jsonPath, 'utf8').catch((error: unknown) => {
    throw new Error(`NSFW_MODEL has no readable model.json (${jsonPath}): ${(error as Error).message}`);
  });
  let parsed: Partial<Record<keyof ModelJson, unknown>>;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (error) {
    throw new Error(`NSFW_MODEL's model.json is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed.modelTopology !== 'object' || !Array.isArray(parsed.weightsManifest)) {
    throw new Error(`NSFW_MODEL's model.json is not a TensorFlow.js model (no modelTopology and weightsManifest).`);
  }
  const json = parsed as ModelJson;
  const paths = json.weightsManifest.flatMap((group) => group.paths);
  const shards = await Promise.all(paths.map((path) => readFile(join(dir, path))));
  return { json, weights: concat(shards) };
}

function concat(parts: readonly Uint8Array[]): ArrayBuffer {
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined.buffer;
}
