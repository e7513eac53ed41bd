import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cast, GraphBuilder, writeModel, type WrittenModel } from '../../onnx-writer/index.js';
import { MODEL_FILE, type ComponentDtype } from './write-component.js';

/**
 * Writes `outDir/model.onnx`, the merge of a low-rank change into one weight, run by the pipeline for each weight a
 * LoRA changes: `weight` `[rows, columns]` in the model's float type, float32 `a` `[rows, rank]`, `b`
 * `[rank, columns]`, `c` `[rows, rank2]`, `d` `[rank2, columns]` and `scale` (a scalar) → `merged` =
 * weight + scale · (a·b) ⊙ (c·d), added in float32 and stored back in the model's type: a LoRA's change with c·d all
 * ones (c, d one column and row of ones), LoHa's Hadamard product of two low-rank products as it is. Every
 * weight's layout is flattened to rows × columns by the caller.
 */
export async function writeWeightOps(outDir: string, dtype: ComponentDtype): Promise<WrittenModel> {
  const floatType = dtype === 'fp16' ? 'float16' : 'float32';
  const g = new GraphBuilder('weight_ops', { floatType });
  const weight = g.input('weight', floatType, ['rows', 'columns']);
  const a = g.input('a', 'float32', ['rows', 'rank']);
  const b = g.input('b', 'float32', ['rank', 'columns']);
  const c = g.input('c', 'float32', ['rows', 'rank2']);
  const d = g.input('d', 'float32', ['rank2', 'columns']);
  const scale = g.input('scale', 'float32', []);
  const wide = floatType === 'float32' ? weight : cast(g, weight, 'float32');
  const product = g.node('Mul', [g.node('MatMul', [a, b]), g.node('MatMul', [c, d])]);
  const merged = g.node('Add', [wide, g.node('Mul', [product, scale])]);
  g.output(floatType === 'float32' ? merged : cast(g, merged, 'float16'), 'merged', floatType, ['rows', 'columns']);
  await mkdir(outDir, { recursive: true });
  return writeModel(g, join(outDir, MODEL_FILE));
}
