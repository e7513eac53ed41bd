export {
  DATA_TYPES,
  GraphBuilder,
  float,
  floats,
  type Attribute,
  type DataType,
  type Dim,
  type Float32Islands,
  type FloatType,
  type GraphOptions,
  type LazyTensor,
  type Value,
} from './graph.js';
export * from './layers.js';
export { DEFAULT_OPSET, writeModel, type WriteOptions, type WrittenModel, type WrittenWeight } from './serialize.js';
export * from './fused-layers.js';
