import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GraphBuilder, writeModel, type Float32Islands, type WrittenModel } from '../../onnx-writer/index.js';
import type { WeightSource } from '../../checkpoint/components.js';
import type { GraphTarget } from './image-layers.js';
import { Weights } from './weights.js';

export type ComponentDtype = 'fp32' | 'fp16';

export interface GraphWriteOptions {
  /** Weights and activations in float32 or fp16; inputs and outputs stay float32 either way. */
  readonly dtype: ComponentDtype;
  /** Called as weights are written: bytes done and in all. */
  readonly onProgress?: (done: number, total: number) => void;
  /** The form of the image models' graphs (the text encoder has one form). @default 'portable' */
  readonly target?: GraphTarget;
  /** Which parts of an fp16 graph compute in float32. @default norms and softmax */
  readonly float32Islands?: Float32Islands;
}

/** The file a component's graph is written to inside its folder (its weights go to `model.onnx_data`). */
export const MODEL_FILE = 'model.onnx';
/** Beside it: where each weight lies in `model.onnx_data` (name, type, dims, offset, length), for LoRA merging. */
export const WEIGHT_TABLE_FILE = 'weights.json';

/** The graph `name` built by `build` over `source`'s weights (nothing is read until it is written). */
export function componentGraph(
  name: string,
  source: WeightSource,
  options: GraphWriteOptions,
  build: (w: Weights) => void,
): GraphBuilder {
  const g = new GraphBuilder(name, {
    floatType: options.dtype === 'fp16' ? 'float16' : 'float32',
    ...(options.float32Islands ? { float32Islands: options.float32Islands } : {}),
  });
  build(new Weights(g, source));
  return g;
}

/** Writes `graph` to `outDir/model.onnx` (+ `_data`) and its weight table to `outDir/weights.json`, creating `outDir`. */
export async function writeComponent(graph: GraphBuilder, outDir: string, options: GraphWriteOptions): Promise<WrittenModel> {
  await mkdir(outDir, { recursive: true });
  const written = await writeModel(graph, join(outDir, MODEL_FILE), options.onProgress ? { onProgress: options.onProgress } : {});
  await writeFile(join(outDir, WEIGHT_TABLE_FILE), JSON.stringify(written.weights));
  return written;
}
