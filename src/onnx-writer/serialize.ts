import { open, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import onnxProto from 'onnx-proto';
import { float32ToFloat16 } from '../pipeline/index.js';
import {
  DATA_TYPES,
  type Attribute,
  type ConstantSpec,
  type GraphBuilder,
  type NodeSpec,
  type ValueInfoSpec,
  type WeightSpec,
} from './graph.js';

const { onnx } = onnxProto;

/** ONNX IR version 8 (ONNX 1.10, what onnx-proto 8 encodes); opset 17 has LayerNormalization. */
const IR_VERSION = 8;
export const DEFAULT_OPSET = 17;
/** Weights start at multiples of this in the data file, so a loader may map them in place. */
const ALIGNMENT = 64;

export interface WriteOptions {
  /** The standard domain's opset. @default 17 */
  readonly opset?: number;
  /** Called after each weight is written, with bytes written so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Where one weight lies in the external data file, so that a reader can find it without parsing the graph. */
export interface WrittenWeight {
  readonly name: string;
  readonly type: 'float32' | 'float16';
  readonly dims: readonly number[];
  /** Byte offset in the data file. */
  readonly offset: number;
  readonly length: number;
}

export interface WrittenModel {
  /** Nodes in the graph. */
  readonly nodes: number;
  /** Every weight, in the order of the data file. */
  readonly weights: readonly WrittenWeight[];
  /** Bytes of `model.onnx` (the graph and small constants). */
  readonly graphBytes: number;
  /** Bytes of the external data file (the weights). */
  readonly dataBytes: number;
}

/**
 * Writes `graph` to `file` (e.g. `unet/model.onnx`) and its weights to `file` + `_data` beside it, as ONNX
 * external data. Weights are read, converted and written one at a time, so memory holds one tensor, and the
 * protobuf holds no weights, so it never meets protobuf's 2 GB limit. ONNX Runtime finds the data file when it
 * loads the model from its path.
 */
export async function writeModel(graph: GraphBuilder, file: string, options: WriteOptions = {}): Promise<WrittenModel> {
  const dataFile = `${file}_data`;
  const offsets = weightOffsets(graph.weights);
  const total = offsets.at(-1) ?? 0;
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const written: WrittenWeight[] = [];
  const data = await open(dataFile, 'w');
  try {
    for (const [i, weight] of graph.weights.entries()) {
      const offset = offsets[i] ?? 0;
      const bytes = weightBytes(weight);
      await data.write(bytes, 0, bytes.length, offset);
      initializers.push(externalTensor(weight, basename(dataFile), offset, bytes.length));
      written.push({ name: weight.name, type: weight.type, dims: weight.tensor.dims, offset, length: bytes.length });
      options.onProgress?.(offset + bytes.length, total);
    }
  } finally {
    await data.close();
  }
  for (const constant of graph.constants) initializers.push(inlineTensor(constant));
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'dreamcord',
    opsetImport: [
      { domain: '', version: options.opset ?? DEFAULT_OPSET },
      ...[...graph.domains].map((domain) => ({ domain, version: 1 })),
    ],
    graph: {
      name: graph.name,
      node: graph.nodes.map(nodeProto),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: initializers,
    },
  });
  const encoded = onnx.ModelProto.encode(model).finish();
  await writeFile(file, encoded);
  return { nodes: graph.nodes.length, weights: written, graphBytes: encoded.length, dataBytes: total };
}

/** Where each weight starts in the data file, then where the file ends. */
function weightOffsets(weights: readonly WeightSpec[]): number[] {
  const offsets = [0];
  for (const weight of weights) {
    const start = offsets.at(-1) ?? 0;
    offsets[offsets.length - 1] = alignUp(start);
    offsets.push(alignUp(start) + byteLength(weight));
  }
  return offsets;
}

function byteLength(weight: WeightSpec): number {
  return elementCount(weight) * (weight.type === 'float16' ? 2 : 4);
}

function elementCount(weight: WeightSpec): number {
  return weight.tensor.dims.reduce((a, b) => a * b, 1);
}

function alignUp(bytes: number): number {
  return Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;
}

/** The little-endian bytes of a weight in its stored type, checked against its declared shape. */
function weightBytes(weight: WeightSpec): Uint8Array {
  const typed =
    weight.type === 'float16'
      ? (weight.tensor.readFloat16?.() ?? float32ToFloat16(weight.tensor.read()))
      : weight.tensor.read();
  const expected = elementCount(weight);
  if (typed.length !== expected) {
    const shape = weight.tensor.dims.join(', ');
    throw new Error(`Weight ${weight.name} has ${typed.length} values; its shape [${shape}] needs ${expected}`);
  }
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

function externalTensor(
  weight: WeightSpec,
  location: string,
  offset: number,
  length: number,
): onnxProto.onnx.ITensorProto {
  return {
    name: weight.name,
    dims: [...weight.tensor.dims],
    dataType: DATA_TYPES[weight.type],
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ],
  };
}

function inlineTensor(constant: ConstantSpec): onnxProto.onnx.ITensorProto {
  return {
    name: constant.name,
    dims: [...constant.dims],
    dataType: DATA_TYPES[constant.type],
    rawData: rawBytes(constant),
  };
}

function rawBytes(constant: ConstantSpec): Uint8Array {
  const values = Array.from(constant.values);
  switch (constant.type) {
    case 'float32':
      return bytesOf(Float32Array.from(values));
    case 'float16':
      return bytesOf(float32ToFloat16(Float32Array.from(values)));
    case 'int64':
      return bytesOf(BigInt64Array.from(values, (v) => BigInt(v)));
    case 'int32':
      return bytesOf(Int32Array.from(values));
    case 'bool':
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
  }
}

function bytesOf(typed: Float32Array | Uint16Array | BigInt64Array | Int32Array): Uint8Array {
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

function valueInfo(spec: ValueInfoSpec): onnxProto.onnx.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: DATA_TYPES[spec.type],
        shape: { dim: spec.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function nodeProto(node: NodeSpec): onnxProto.onnx.INodeProto {
  return {
    name: node.name,
    opType: node.opType,
    domain: node.domain,
    input: [...node.inputs],
    output: [...node.outputs],
    attribute: Object.entries(node.attributes).map(([name, value]) => attributeProto(name, value)),
  };
}

function attributeProto(name: string, value: Attribute): onnxProto.onnx.IAttributeProto {
  const types = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: types.INT, i: value };
  if (typeof value === 'string') return { name, type: types.STRING, s: new TextEncoder().encode(value) };
  if ('float' in value) return { name, type: types.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: types.FLOATS, floats: [...value.floats] };
  return { name, type: types.INTS, ints: [...value] };
}
