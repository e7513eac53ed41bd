import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cast, GraphBuilder, writeModel, type WrittenModel } from '../../onnx-writer/index.js';
import { MODEL_FILE, type ComponentDtype } from './write-component.js';

/**
 * Writes `outDir/model.onnx`, the merge of a low-rank change into one weight, run by the pipeline for each weight a
 * LoRA changes: `weight` `[rows, columns]` in the model's float type, `a` float32 `[rows, rank]`, `b` float32
 * `[rank, columns]`, `scale` float32 scalar → `merged` = weight + scale · a·b, added in float32 and stored back in
 * the model's type. Every weight's layout is flattened to rows × columns by the caller.
 */
export async function writeWeightOps(outDir: string, dtype: ComponentDtype): Promise<WrittenModel> {
  const floatType = dtype === 'fp16' ? 'float16' : 'float32';
  const g = new GraphBuilder('weight_ops', { floatType });
  const weight = g.input('weight', floatType, ['rows', 'columns']);
  const a = g.input('a', 'float32', ['rows', 'rank']);
  const b = g.input('b', 'float32', ['rank', 'columns']);
  const scale = g.input('scale', 'float32', []);
  const wide = floatType === 'float32' ? weight : cast(g, weight, 'float32');
  const merged = g.node('Add', [wide, g.node('Mul', [g.node('MatMul', [a, b]), scale])]);
  g.output(floatType === 'float32' ? merged : cast(g, merged, 'float16'), 'merged', floatType, ['rows', 'columns']);
  await mkdir(outDir, { recursive: true });
  return writeModel(g, join(outDir, MODEL_FILE));
}
