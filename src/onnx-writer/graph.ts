/**
 * A typed builder for ONNX graphs: named values, nodes with attributes, graph inputs and outputs, small inline
 * constants and large weights whose data is read only when the model is written (see `serialize.ts`). It knows no
 * model architecture; `layers.ts` builds neural-network layers from its nodes.
 */

/** Element types the builder writes, by ONNX's names for them (`TensorProto.DataType`). */
export const DATA_TYPES = { float32: 1, int32: 6, int64: 7, bool: 9, float16: 10 } as const;
export type DataType = keyof typeof DATA_TYPES;
export type FloatType = 'float32' | 'float16';

/** A tensor in the graph: a graph input, a node output, a constant or a weight. */
export interface Value {
  readonly name: string;
}

/** A dimension of a graph input or output: a size, or a symbolic name for a dynamic axis (`batch`). */
export type Dim = number | string;

export interface FloatAttribute {
  readonly float: number;
}
export interface FloatsAttribute {
  readonly floats: readonly number[];
}
/** Plain numbers are ONNX `INT`s; floats are marked because JavaScript numbers do not say which they are. */
export type Attribute = number | readonly number[] | string | FloatAttribute | FloatsAttribute;

/** A float attribute (`epsilon`, `alpha`). */
export function float(value: number): FloatAttribute {
  return { float: value };
}

/** A list-of-floats attribute. */
export function floats(values: readonly number[]): FloatsAttribute {
  return { floats: values };
}

export interface NodeSpec {
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, Attribute>>;
}

/** A weight whose values are produced only when written: read from a checkpoint, transposed, converted. */
export interface LazyTensor {
  readonly dims: readonly number[];
  /** The values as float32, row-major in `dims` order. Called once, while the model is written. */
  read(): Float32Array;
  /** The values as fp16 bits when they are at hand without rounding (an F16 checkpoint); used for fp16 weights. */
  readFloat16?(): Uint16Array | undefined;
}

export interface WeightSpec {
  readonly name: string;
  /** The element type stored in the file (float32 values are rounded to fp16 when this is `float16`). */
  readonly type: FloatType;
  readonly tensor: LazyTensor;
}

/** A small constant stored inside `model.onnx` (shapes, axes, masks). */
export interface ConstantSpec {
  readonly name: string;
  readonly type: DataType;
  readonly dims: readonly number[];
  readonly values: readonly number[] | Float32Array;
}

export interface ValueInfoSpec {
  readonly name: string;
  readonly type: DataType;
  readonly dims: readonly Dim[];
}

/**
 * Where fp16 graphs compute in float32 because fp16 loses too much: group normalization's statistics over
 * thousands of values, and softmax over long rows. Float32 graphs ignore it.
 */
export interface Float32Islands {
  readonly norms: boolean;
  readonly softmax: boolean;
}

export interface GraphOptions {
  /** The element type of weights and activations. */
  readonly floatType: FloatType;
  /** @default both on */
  readonly float32Islands?: Float32Islands;
}

export interface NodeOptions {
  /** How many outputs the node has. @default 1 */
  readonly outputs?: number;
  /** @default '' (the standard ONNX domain) */
  readonly domain?: string;
  /** Optional outputs the graph does not use, written as the empty name so that the kernel may skip them. */
  readonly omitted?: readonly number[];
}

export class GraphBuilder {
  readonly name: string;
  readonly floatType: FloatType;
  readonly float32Islands: Float32Islands;
  readonly nodes: NodeSpec[] = [];
  readonly inputs: ValueInfoSpec[] = [];
  readonly outputs: ValueInfoSpec[] = [];
  readonly weights: WeightSpec[] = [];
  readonly constants: ConstantSpec[] = [];
  /** Domains used by nodes, besides the standard one (e.g. `com.microsoft` for ONNX Runtime's fused operators). */
  readonly domains = new Set<string>();
  readonly #names = new Set<string>();
  readonly #weightsByName = new Map<string, Value>();
  readonly #scopes: string[] = [];

  constructor(name: string, options: GraphOptions) {
    this.name = name;
    this.floatType = options.floatType;
    this.float32Islands = options.float32Islands ?? { norms: true, softmax: true };
  }

  /** Whether layers should compute `part` in float32 inside an fp16 graph. */
  computesInFloat32(part: keyof Float32Islands): boolean {
    return this.floatType === 'float16' && this.float32Islands[part];
  }

  /** Runs `build` with node and value names prefixed by `scope` (names say where a node came from). */
  scoped<T>(scope: string, build: () => T): T {
    this.#scopes.push(scope);
    try {
      return build();
    } finally {
      this.#scopes.pop();
    }
  }

  input(name: string, type: DataType, dims: readonly Dim[]): Value {
    this.#claim(name);
    this.inputs.push({ name, type, dims });
    return { name };
  }

  /** Declares `value` as the graph output `name` (through an Identity node when the value has another name). */
  output(value: Value, name: string, type: DataType, dims: readonly Dim[]): void {
    if (value.name !== name) {
      this.#claim(name);
      this.nodes.push({
        opType: 'Identity',
        domain: '',
        name: `${name}/Identity`,
        inputs: [value.name],
        outputs: [name],
        attributes: {},
      });
    }
    this.outputs.push({ name, type, dims });
  }

  /** A weight of the graph's float type (stored as external data); one value per name however often it is used. */
  weight(name: string, tensor: LazyTensor, type: FloatType = this.floatType): Value {
    const known = this.#weightsByName.get(name);
    if (known) return known;
    this.#claim(name);
    this.weights.push({ name, type, tensor });
    const value = { name };
    this.#weightsByName.set(name, value);
    return value;
  }

  /** An int64 constant (shapes, axes, indices); a scalar when `dims` is `[]`. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): Value {
    return this.#constant('int64', values, dims);
  }

  /** A float constant of `type` (the graph's float type unless given); a scalar when `dims` is `[]`. */
  floatConstant(
    values: readonly number[] | Float32Array,
    dims: readonly number[] = [values.length],
    type: FloatType = this.floatType,
  ): Value {
    return this.#constant(type, values, dims);
  }

  /** Adds a node; returns its outputs. */
  nodeOutputs(
    opType: string,
    inputs: readonly (Value | undefined)[],
    attributes: Readonly<Record<string, Attribute>> = {},
    options: NodeOptions = {},
  ): Value[] {
    const name = this.#unique(`${this.#prefix()}${opType}`);
    const outputs = Array.from({ length: options.outputs ?? 1 }, (_, i) =>
      options.omitted?.includes(i) === true ? '' : this.#unique(`${name}_output_${i}`),
    );
    const domain = options.domain ?? '';
    if (domain !== '') this.domains.add(domain);
    // An absent optional input is written as the empty name, as ONNX specifies.
    this.nodes.push({ opType, domain, name, inputs: inputs.map((v) => v?.name ?? ''), outputs, attributes });
    return outputs.map((output) => ({ name: output }));
  }

  /** Adds a node with one output and returns it. */
  node(
    opType: string,
    inputs: readonly (Value | undefined)[],
    attributes: Readonly<Record<string, Attribute>> = {},
    options: Omit<NodeOptions, 'outputs'> = {},
  ): Value {
    const [output] = this.nodeOutputs(opType, inputs, attributes, options);
    if (!output) throw new Error(`${opType} produced no output`);
    return output;
  }

  #constant(type: DataType, values: readonly number[] | Float32Array, dims: readonly number[]): Value {
    const name = this.#unique(`${this.#prefix()}const`);
    this.constants.push({ name, type, dims, values });
    return { name };
  }

  #prefix(): string {
    return this.#scopes.length === 0 ? '' : `${this.#scopes.join('/')}/`;
  }

  #unique(base: string): string {
    let name = base;
    for (let i = 1; this.#names.has(name); i++) name = `${base}_${i}`;
    this.#names.add(name);
    return name;
  }

  #claim(name: string): void {
    if (this.#names.has(name)) throw new Error(`The graph ${this.name} already has a value named ${name}`);
    this.#names.add(name);
  }
}
