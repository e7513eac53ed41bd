import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { attention, fromFloat32, GraphBuilder, toFloat32, writeModel } from '../../src/onnx-writer/index.js';
import { tempDir } from '../support/temp-dir.js';

/** Self-attention of one 4-token, 64-wide head in an fp16 graph, run on `values`. */
async function fp16SelfAttention(values: Float32Array, upcast: boolean): Promise<Float32Array> {
  const g = new GraphBuilder('attention', { floatType: 'float16' });
  const x = fromFloat32(g, g.input('x', 'float32', [1, 4, 64]));
  g.output(toFloat32(g, attention(g, x, x, x, { heads: 1, headDim: 64, upcast })), 'y', 'float32', [1, 4, 64]);
  const file = join(tempDir(), 'model.onnx');
  await writeModel(g, file);
  const session = await InferenceSession.create(file);
  const out = await session.run({ x: new Tensor('float32', values, [1, 4, 64]) });
  await session.release();
  return out.y?.data as Float32Array;
}

describe('attention in an fp16 graph', () => {
  // Every token is 300 in every channel: the scores are 300² · 64 / √64 = 720 000, past fp16's 65 504. Every key is
  // the same, so the exact output is the value itself, 300.
  const large = new Float32Array(4 * 64).fill(300);

  it('overflows to NaN when the scores are fp16 (why upcasting exists)', async () => {
    const y = await fp16SelfAttention(large, false);
    assert.ok(y.some(Number.isNaN));
  });

  it('gives the exact answer when the scores are upcast to float32', async () => {
    const y = await fp16SelfAttention(large, true);
    assert.ok(
      y.every((value) => value === 300),
      `got ${y.slice(0, 4).join(', ')}`,
    );
  });
});
