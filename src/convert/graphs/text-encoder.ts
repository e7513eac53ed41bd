import { attention, fromFloat32, gelu, quickGelu, toFloat32, type Value, type WrittenModel } from '../../onnx-writer/index.js';
import type { ComponentSource, TextEncoderConfig } from '../../checkpoint/components.js';
import type { Weights } from './weights.js';
import { componentGraph, writeComponent, type GraphWriteOptions } from './write-component.js';

const PREFIX = 'text_model';
/** ONNX's element type number of int64 (`Cast`'s `to`). */
const INT64 = 7;

/**
 * Writes transformers' `CLIPTextModel` as `outDir/model.onnx`: `input_ids` int32 `[batch, sequence]` and
 * `extra_embeddings` float32 `[rows, hidden]` (textual-inversion vectors: id −1 − r reads row r) →
 * `last_hidden_state` `[batch, sequence, hidden]`, `pooler_output` `[batch, hidden]` (the final state at the EOS
 * token, found as the largest id, as SD 1.x's CLIP config does), `hidden_states.0..N` (the embeddings and each
 * layer's output, as diffusers' export has them) and `clip_skip.2..N`: A1111's clip skip k, `hidden_states.(N+1−k)`
 * through the final layer norm, so clip skip needs no other graph. `CLIPTextModelWithProjection` (SDXL's second
 * encoder, `projectionDim` set) also outputs `text_embeds` `[batch, projection]`: the pooled state projected.
 */
export function writeTextEncoder(
  source: ComponentSource<TextEncoderConfig>,
  outDir: string,
  options: GraphWriteOptions,
): Promise<WrittenModel> {
  const graph = componentGraph('text_encoder', source.weights, options, (w) => buildTextEncoder(w, source.config));
  return writeComponent(graph, outDir, options);
}

function buildTextEncoder(w: Weights, config: TextEncoderConfig): void {
  const { g } = w;
  const ids = g.input('input_ids', 'int32', ['batch', 'sequence']);
  const length = g.node('Slice', [g.node('Shape', [ids]), g.int64([1]), g.int64([2])]);
  const extra = fromFloat32(g, g.input('extra_embeddings', 'float32', ['rows', config.hiddenSize]));
  const tokens = tokenEmbeddings(w, ids, extra);
  const positions = g.node('Slice', [
    w.tensor(`${PREFIX}.embeddings.position_embedding.weight`),
    g.int64([0]),
    length,
    g.int64([0]),
  ]);
  let hidden = g.node('Add', [tokens, positions]);
  const mask = causalMask(w, config, length);
  const states = [hidden];
  for (let i = 0; i < config.numLayers; i++) {
    hidden = g.scoped(`layers.${i}`, () => encoderLayer(w, config, `${PREFIX}.encoder.layers.${i}`, hidden, mask));
    states.push(hidden);
  }
  const finalNorm = (value: Value): Value => w.layerNorm(value, `${PREFIX}.final_layer_norm`, config.layerNormEps);
  const last = finalNorm(hidden);
  const eos = g.node('ArgMax', [ids], { axis: -1, keepdims: 1 });
  const pooled = g.node('GatherND', [last, eos], { batch_dims: 1 });
  const output = (value: Value, name: string, dims: (string | number)[]): void =>
    g.output(toFloat32(g, value), name, 'float32', dims);
  output(last, 'last_hidden_state', ['batch', 'sequence', config.hiddenSize]);
  output(pooled, 'pooler_output', ['batch', config.hiddenSize]);
  if (config.projectionDim !== undefined) {
    output(w.linear(pooled, 'text_projection'), 'text_embeds', ['batch', config.projectionDim]);
  }
  states.forEach((state, i) => output(state, `hidden_states.${i}`, ['batch', 'sequence', config.hiddenSize]));
  // Clip skip k is A1111's `CLIP_stop_at_last_layers`: hidden_states[−k], then the final layer norm.
  for (let skip = 2; skip <= config.numLayers; skip++) {
    const state = states[states.length - skip];
    if (state) output(finalNorm(state), `clip_skip.${skip}`, ['batch', 'sequence', config.hiddenSize]);
  }
}

/**
 * Each id's vector: ids ≥ 0 from the vocabulary's table, id −1 − r from row r of `extra`, so an embedding's vectors
 * take token slots without a new table (both gathers clamp their index; `Where` keeps the right one).
 */
function tokenEmbeddings(w: Weights, ids: Value, extra: Value): Value {
  const { g } = w;
  const wide = g.node('Cast', [ids], { to: INT64 });
  const zero = g.int64([0], []);
  const vocabulary = g.node('Gather', [w.tensor(`${PREFIX}.embeddings.token_embedding.weight`), g.node('Max', [wide, zero])]);
  const rows = g.node('Max', [g.node('Sub', [g.int64([-1], []), wide]), zero]);
  const isExtra = g.node('Unsqueeze', [g.node('Less', [wide, zero]), g.int64([-1])]);
  return g.node('Where', [isExtra, g.node('Gather', [extra, rows]), vocabulary]);
}

/**
 * `[sequence, sequence]`: 0 where a token may attend (itself and earlier tokens), the float type's lowest value
 * elsewhere, as transformers builds it; cut from one constant for the longest sequence.
 */
function causalMask(w: Weights, config: TextEncoderConfig, length: Value): Value {
  const { g } = w;
  const size = config.maxPositions;
  const lowest = g.floatType === 'float16' ? -65504 : -3.4028234663852886e38;
  const values = new Float32Array(size * size);
  for (let row = 0; row < size; row++) values.fill(lowest, row * size + row + 1, (row + 1) * size);
  const full = g.floatConstant(values, [size, size]);
  const ends = g.node('Concat', [length, length], { axis: 0 });
  return g.node('Slice', [full, g.int64([0, 0]), ends, g.int64([0, 1])]);
}

function encoderLayer(w: Weights, config: TextEncoderConfig, prefix: string, input: Value, mask: Value): Value {
  const { g } = w;
  const normed = w.layerNorm(input, `${prefix}.layer_norm1`, config.layerNormEps);
  const q = w.linear(normed, `${prefix}.self_attn.q_proj`);
  const k = w.linear(normed, `${prefix}.self_attn.k_proj`);
  const v = w.linear(normed, `${prefix}.self_attn.v_proj`);
  const headDim = config.hiddenSize / config.numHeads;
  const attended = attention(g, q, k, v, { heads: config.numHeads, headDim, mask });
  const afterAttention = g.node('Add', [input, w.linear(attended, `${prefix}.self_attn.out_proj`)]);
  const normed2 = w.layerNorm(afterAttention, `${prefix}.layer_norm2`, config.layerNormEps);
  const up = w.linear(normed2, `${prefix}.mlp.fc1`);
  const activated = config.hiddenAct === 'quick_gelu' ? quickGelu(g, up) : gelu(g, up);
  return g.node('Add', [afterAttention, w.linear(activated, `${prefix}.mlp.fc2`)]);
}
