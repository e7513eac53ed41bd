import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { GraphBuilder, linear, writeModel, type FloatType } from '../../src/onnx-writer/index.js';
import { fromFloat16Bits, toFloat16Bits } from '../../src/pipeline/runtime/float16.js';
import { tempDir } from '../support/temp-dir.js';

/** W `[out 2, in 3]` as a Linear layer stores it, and its bias. */
const W = [
  [0.5, -1, 2],
  [0.25, 3, -0.1],
];
const B = [0.1, -0.2];

/** `y = x·Wᵀ + b` over `x` `[batch, 3]`, with W transposed while written; counts the reads of each weight. */
function linearGraph(floatType: FloatType): { graph: GraphBuilder; reads: Map<string, number> } {
  const graph = new GraphBuilder('linear', { floatType });
  const reads = new Map<string, number>();
  const lazy = (name: string, dims: number[], values: number[]) =>
    graph.weight(name, {
      dims,
      read: () => {
        reads.set(name, (reads.get(name) ?? 0) + 1);
        return Float32Array.from(values);
      },
    });
  const x = graph.input('x', 'float32', ['batch', 3]);
  const narrow = floatType === 'float32' ? x : graph.node('Cast', [x], { to: 10 });
  const w = lazy(
    'w',
    [3, 2],
    [0, 1, 2].flatMap((i) => W.map((row) => row[i] ?? 0)),
  );
  const y = linear(graph, narrow, w, lazy('b', [2], B));
  graph.output(floatType === 'float32' ? y : graph.node('Cast', [y], { to: 1 }), 'y', 'float32', ['batch', 2]);
  return { graph, reads };
}

async function run(file: string, x: number[][]): Promise<Float32Array> {
  const session = await InferenceSession.create(file);
  const input = new Tensor('float32', Float32Array.from(x.flat()), [x.length, 3]);
  const out = await session.run({ x: input });
  await session.release();
  return out.y?.data as Float32Array;
}

const X = [
  [1, 2, 3],
  [-1, 0.5, 4],
];
/** The product worked out by hand from W, B and X above. */
const EXPECTED = [1 * 0.5 - 2 + 6 + 0.1, 0.25 + 6 - 0.3 - 0.2, -0.5 - 0.5 + 8 + 0.1, -0.25 + 1.5 - 0.4 - 0.2];

describe('writeModel', () => {
  it('writes the graph and its weights as external data that ONNX Runtime loads', async () => {
    const dir = tempDir();
    const { graph, reads } = linearGraph('float32');
    const progress: [number, number][] = [];
    const written = await writeModel(graph, join(dir, 'model.onnx'), {
      onProgress: (done, total) => progress.push([done, total]),
    });
    const y = await run(join(dir, 'model.onnx'), X);
    EXPECTED.forEach((value, i) =>
      assert.ok(Math.abs((y[i] ?? NaN) - value) < 1e-6, `y[${i}] = ${y[i]}, expected ${value}`),
    );
    assert.deepEqual([...reads.values()], [1, 1], 'each weight is read exactly once');
    assert.equal(statSync(join(dir, 'model.onnx_data')).size, written.dataBytes);
    assert.equal(progress.length, 2);
    assert.deepEqual(progress.at(-1), [written.dataBytes, written.dataBytes]);
    const graphFile = readFileSync(join(dir, 'model.onnx'));
    assert.equal(graphFile.length, written.graphBytes);
    assert.ok(
      !graphFile.includes(Buffer.from(Float32Array.from([0.5, 0.25]).buffer)),
      'no weight data inside model.onnx',
    );
  });

  it('rounds weights to fp16 in the file when the graph is fp16', async () => {
    const dir = tempDir();
    const written = await writeModel(linearGraph('float16').graph, join(dir, 'model.onnx'));
    const data = readFileSync(join(dir, 'model.onnx_data'));
    // The transposed W comes first: its first value is W[0][0], the second W[1][0].
    assert.equal(data.readUInt16LE(0), toFloat16Bits(0.5));
    assert.equal(data.readUInt16LE(2), toFloat16Bits(0.25));
    assert.equal(written.dataBytes, 64 + 2 * 2, 'the second weight starts at 64 bytes');
    const y = await run(join(dir, 'model.onnx'), X);
    EXPECTED.forEach((value, i) => {
      const tolerance = 4 * Math.abs(fromFloat16Bits(toFloat16Bits(value)) - value) + 1e-2;
      assert.ok(Math.abs((y[i] ?? NaN) - value) < tolerance, `y[${i}] = ${y[i]}, expected about ${value}`);
    });
  });

  it('copies fp16 bits that a weight has at hand instead of rounding its float32 values', async () => {
    const dir = tempDir();
    const graph = new GraphBuilder('halves', { floatType: 'float16' });
    const x = graph.input('x', 'float16', [2]);
    // Bits chosen to differ from what rounding read()'s values would give, so the file shows which path ran.
    const tensor = { dims: [2], read: () => Float32Array.of(1, 1), readFloat16: () => Uint16Array.of(0x3c01, 0xc000) };
    graph.output(graph.node('Add', [x, graph.weight('w', tensor)]), 'y', 'float16', [2]);
    await writeModel(graph, join(dir, 'model.onnx'));
    const data = readFileSync(join(dir, 'model.onnx_data'));
    assert.deepEqual([data.readUInt16LE(0), data.readUInt16LE(2)], [0x3c01, 0xc000]);
  });

  it('names a weight whose values do not fill its shape', async () => {
    const graph = new GraphBuilder('bad', { floatType: 'float32' });
    const x = graph.input('x', 'float32', [2]);
    graph.output(
      graph.node('Add', [x, graph.weight('short', { dims: [2], read: () => new Float32Array(3) })]),
      'y',
      'float32',
      [2],
    );
    await assert.rejects(
      writeModel(graph, join(tempDir(), 'model.onnx')),
      /Weight short has 3 values; its shape \[2\] needs 2/,
    );
  });
});

describe('GraphBuilder', () => {
  it('refuses two graph values with one name', () => {
    const graph = new GraphBuilder('dup', { floatType: 'float32' });
    graph.input('x', 'float32', [1]);
    assert.throws(() => graph.input('x', 'float32', [1]), /already has a value named x/);
  });

  it('gives one value per weight name however often it is used', () => {
    const graph = new GraphBuilder('shared', { floatType: 'float32' });
    const tensor = { dims: [1], read: () => new Float32Array(1) };
    assert.equal(graph.weight('w', tensor), graph.weight('w', tensor));
    assert.equal(graph.weights.length, 1);
  });

  it('names nodes after the scope they were built in', () => {
    const graph = new GraphBuilder('scoped', { floatType: 'float32' });
    const x = graph.input('x', 'float32', [1]);
    graph.scoped('block.0', () => graph.scoped('attn', () => graph.node('Relu', [x])));
    assert.equal(graph.nodes[0]?.name, 'block.0/attn/Relu');
  });
});
