// Writes small ONNX models (protobuf, by hand: no ONNX library for Node), for tests that need a model which loads
// fine and then fails inside ONNX Runtime, as a model does when the GPU runs out of memory.

/** A graph input or output: element type float32 and a shape of sizes and symbolic names. */
export interface ValueSpec {
  readonly name: string;
  readonly shape: readonly (number | string)[];
}

/** One operator, without attributes (all these tests need). */
export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/** An int64 constant. */
export interface Int64Initializer {
  readonly name: string;
  readonly values: readonly number[];
}

export interface ModelSpec {
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  readonly nodes: readonly NodeSpec[];
  readonly initializers?: readonly Int64Initializer[];
  /** @default 13 */
  readonly opset?: number;
}

const FLOAT = 1;
const INT64 = 7;

/** The bytes of an ONNX model (`ModelProto`) for `spec`. */
export function onnxModel(spec: ModelSpec): Uint8Array {
  const graph = concat(
    ...spec.nodes.map((node, i) => field(1, nodeProto(node, `node${i}`))),
    field(2, text('graph')),
    ...(spec.initializers ?? []).map((init) => field(5, int64Tensor(init))),
    ...spec.inputs.map((value) => field(11, valueInfo(value))),
    ...spec.outputs.map((value) => field(12, valueInfo(value))),
  );
  const opset = concat(field(1, text('')), varintField(2, spec.opset ?? 13));
  return concat(varintField(1, 8), field(2, text('dreamcord-test')), field(7, graph), field(8, opset));
}

function nodeProto(node: NodeSpec, name: string): Uint8Array {
  return concat(
    ...node.inputs.map((input) => field(1, text(input))),
    ...node.outputs.map((output) => field(2, text(output))),
    field(3, text(name)),
    field(4, text(node.op)),
  );
}

function int64Tensor(init: Int64Initializer): Uint8Array {
  const raw = new DataView(new ArrayBuffer(init.values.length * 8));
  init.values.forEach((value, i) => raw.setBigInt64(i * 8, BigInt(value), true));
  return concat(varintField(1, init.values.length), varintField(2, INT64), field(8, text(init.name)), field(9, new Uint8Array(raw.buffer)));
}

function valueInfo(value: ValueSpec): Uint8Array {
  const dims = value.shape.map((dim) => field(1, typeof dim === 'number' ? varintField(1, dim) : field(2, text(dim))));
  const tensorType = concat(varintField(1, FLOAT), field(2, concat(...dims)));
  return concat(field(1, text(value.name)), field(2, field(1, tensorType)));
}

// ── protobuf wire format ──────────────────────────────────────────────────────────────────────────────────

function varint(value: number): Uint8Array {
  const bytes: number[] = [];
  let rest = BigInt(value);
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return Uint8Array.from(bytes);
}

function varintField(number: number, value: number): Uint8Array {
  return concat(varint(number << 3), varint(value));
}

function field(number: number, bytes: Uint8Array): Uint8Array {
  return concat(varint((number << 3) | 2), varint(bytes.length), bytes);
}

function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * A UNet with the real one's inputs and output that, when run, asks ONNX Runtime for a tensor of 2^40 times the
 * latents' size (petabytes): the allocation fails as a GPU's does when it runs out of memory. Loading it allocates
 * nothing, since the size depends on the input.
 */
export function outOfMemoryUnet(hiddenSize: number): Uint8Array {
  return onnxModel({
    inputs: [
      { name: 'sample', shape: ['batch', 4, 'height', 'width'] },
      { name: 'timestep', shape: ['batch'] },
      { name: 'encoder_hidden_states', shape: ['batch', 'sequence', hiddenSize] },
    ],
    outputs: [{ name: 'out_sample', shape: ['batch', 4, 'height', 'width'] }],
    initializers: [{ name: 'scale', values: [1024, 1024, 1024, 1024] }],
    nodes: [
      { op: 'Shape', inputs: ['sample'], outputs: ['shape'] },
      { op: 'Mul', inputs: ['shape', 'scale'], outputs: ['huge_shape'] },
      { op: 'ConstantOfShape', inputs: ['huge_shape'], outputs: ['huge'] },
      { op: 'ReduceSum', inputs: ['huge'], outputs: ['total'] },
      { op: 'Add', inputs: ['sample', 'total'], outputs: ['out_sample'] },
    ],
  });
}
