import type { RunClock, ModelSession } from '../runtime/session.js';
import { readFloats, type HostTensor } from '../runtime/tensor.js';
import { fixedDim, outputOf, rejectUnknownInputs, requireTensor } from './graph-io.js';

const INPUT = 'input_ids';
/** dreamcord's converter adds it: `[rows, hidden]` token vectors that ids −1 − r read (textual inversion). */
const EXTRA = 'extra_embeddings';
const OUTPUT = 'last_hidden_state';
/** dreamcord's converter writes `clip_skip.k` outputs: layer −k through the final layer norm (A1111's clip skip). */
const CLIP_SKIP_PREFIX = 'clip_skip.';
/** Each layer's output (`hidden_states.0` the embeddings), as diffusers' and optimum's exports have them. */
const HIDDEN_STATE_PREFIX = 'hidden_states.';
/** `CLIPTextModelWithProjection` (SDXL's second encoder): the pooled state projected. */
const TEXT_EMBEDS = 'text_embeds';

/** What SDXL reads of each text encoder (see {@link ClipTextEncoder.encodeLayer}). */
export interface LayerEncoding {
  /** `[windows, tokens, hidden]`: the chosen layer's output, not normalized. */
  readonly hidden: Float32Array;
  /** `[windows, projection]`: the projected pooled state, when asked for. */
  readonly pooled: Float32Array | undefined;
}

/** The CLIP text encoder: token windows → one hidden vector per token (its `last_hidden_state`). */
export class ClipTextEncoder {
  /** Width of a token's hidden vector (768 in SD 1.x, 1024 in SD 2.x), when the graph fixes it. */
  readonly hiddenSize: number | undefined;
  /**
   * The largest clip skip the graph offers: its last `clip_skip.k` output of the run 2, 3, … k, or 1 when it has
   * none (exports other than dreamcord's converter).
   */
  readonly maxClipSkip: number;
  /** Whether the graph takes `extra_embeddings`, so that textual-inversion embeddings can be used. */
  readonly takesEmbeddings: boolean;
  /** Layers whose outputs the graph offers as `hidden_states.1 … hidden_states.N` (0 when it offers none). */
  readonly layers: number;
  /** Whether the graph outputs `text_embeds` (a `CLIPTextModelWithProjection`, SDXL's second encoder). */
  readonly projects: boolean;
  /** The loaded model (its file and execution provider). */
  readonly session: ModelSession;
  readonly #idType: 'int32' | 'int64';
  readonly #outputName: string;

  /**
   * Wraps a loaded `text_encoder/model.onnx`: input `input_ids` int32 or int64 `[batch, tokens]`, output
   * `last_hidden_state` float `[batch, tokens, hidden]`, and optionally `clip_skip.2 … clip_skip.N` alike and the
   * input `extra_embeddings` float32 `[rows, hidden]`.
   * @throws PipelineError `MODEL_UNSUPPORTED` when the graph has other inputs or types.
   */
  constructor(session: ModelSession) {
    rejectUnknownInputs(session, [INPUT, EXTRA]);
    const ids = requireTensor(session, 'input', INPUT, ['int32', 'int64'], 2);
    const outputName = session.output(OUTPUT) ? OUTPUT : undefined;
    const out = requireTensor(session, 'output', outputName, ['float32', 'float16'], 3);
    this.session = session;
    this.#idType = ids.type === 'int64' ? 'int64' : 'int32';
    this.#outputName = out.name;
    this.hiddenSize = fixedDim(out, 2);
    let skip = 1;
    while (session.output(`${CLIP_SKIP_PREFIX}${skip + 1}`)) skip++;
    this.maxClipSkip = skip;
    this.takesEmbeddings = session.input(EXTRA) !== undefined;
    let layers = 0;
    while (session.output(`${HIDDEN_STATE_PREFIX}${layers + 1}`)) layers++;
    this.layers = layers;
    this.projects = session.output(TEXT_EMBEDS) !== undefined;
  }

  /**
   * Encodes `windows` (each the same length, 77 for CLIP) in one batch.
   * @param options.clipSkip - 1 (the last layer) … {@link maxClipSkip}: which layer from the end gives the vectors.
   * @param options.embeddings - the rows that ids −1 − r read (`[rows, hidden]`), for a graph that
   *   {@link takesEmbeddings}; none is one row of zeros, which no id reads.
   * @returns float32 `[windows.length, tokens, hidden]`, row-major.
   */
  async encode(
    windows: readonly Int32Array[],
    options: { readonly clipSkip: number; readonly embeddings?: Float32Array },
    clock?: RunClock,
  ): Promise<Float32Array> {
    const output = options.clipSkip > 1 ? `${CLIP_SKIP_PREFIX}${options.clipSkip}` : this.#outputName;
    const out = await this.session.run(this.#feeds(windows, options.embeddings), clock, [output]);
    return readFloats(outputOf(out, output, this.session));
  }

  /**
   * SDXL's reading (diffusers' `encode_prompt`): the output of the layer `fromEnd` layers before the last
   * (`hidden_states[-(fromEnd + 1)]`, without the final layer norm; 1 is the penultimate layer) and, with `pooled`,
   * the projected pooled state `text_embeds`.
   * @param options.fromEnd - 1 … {@link layers}.
   * @param options.embeddings - the rows that ids −1 − r read, as for {@link encode}.
   */
  async encodeLayer(
    windows: readonly Int32Array[],
    options: { readonly fromEnd: number; readonly pooled: boolean; readonly embeddings?: Float32Array },
    clock?: RunClock,
  ): Promise<LayerEncoding> {
    const { fromEnd, pooled } = options;
    const layer = `${HIDDEN_STATE_PREFIX}${this.layers - fromEnd}`;
    const outputs = pooled ? [layer, TEXT_EMBEDS] : [layer];
    const out = await this.session.run(this.#feeds(windows, options.embeddings), clock, outputs);
    return {
      hidden: readFloats(outputOf(out, layer, this.session)),
      pooled: pooled ? readFloats(outputOf(out, TEXT_EMBEDS, this.session)) : undefined,
    };
  }

  #feeds(windows: readonly Int32Array[], embeddings: Float32Array | undefined): Record<string, HostTensor> {
    const tokens = windows[0]?.length ?? 0;
    const dims = [windows.length, tokens];
    const ids: HostTensor =
      this.#idType === 'int32'
        ? { type: 'int32', data: concatInt32(windows, tokens), dims }
        : { type: 'int64', data: BigInt64Array.from(concatInt32(windows, tokens), (id) => BigInt(id)), dims };
    const feeds: Record<string, HostTensor> = { [INPUT]: ids };
    if (this.takesEmbeddings) feeds[EXTRA] = this.#extraRows(embeddings);
    return feeds;
  }

  #extraRows(rows: Float32Array | undefined): HostTensor {
    const width = this.hiddenSize ?? 0;
    // A Gather from an empty table fails even when nothing reads it.
    const data = rows && rows.length > 0 ? rows : new Float32Array(width);
    return { type: 'float32', data, dims: [data.length / width, width] };
  }
}

function concatInt32(windows: readonly Int32Array[], tokens: number): Int32Array {
  const ids = new Int32Array(windows.length * tokens);
  windows.forEach((window, i) => {
    if (window.length !== tokens) {
      throw new RangeError(`token windows differ in length: ${window.length} ≠ ${tokens}`);
    }
    ids.set(window, i * tokens);
  });
  return ids;
}
