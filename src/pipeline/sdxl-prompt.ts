// SDXL's text conditioning: diffusers' `StableDiffusionXLPipeline.encode_prompt` and `_get_add_time_ids`, with
// A1111's prompt syntax on both encoders as A1111 reads it.
import { PipelineError } from './errors.js';
import type { SecondTextEncoder, StableDiffusionModel } from './models/stable-diffusion-model.js';
import type { ClipTextEncoder, LayerEncoding } from './models/text-encoder.js';
import type { AddedConditioning } from './models/unet.js';
import type { ResolvedRequest } from './request.js';
import type { Conditioning } from './steps.js';
import type { TimingRecorder } from './timing.js';
import { applyPromptWeights, tokenizePromptPair, type PromptTokens } from './tokenizer/index.js';

/** Time ids per image: original size (h, w), crop top-left (y, x), target size (h, w). */
const TIME_IDS = 6;

/** One encoder's reading of the sides (the negative prompt first with guidance, then the prompt). */
interface EncodedSides {
  /** Per side: `[chunks · 77, width]`, weighted per chunk. */
  readonly hidden: Float32Array[];
  /** Per side: the pooled projection of its first chunk (the second encoder only). */
  readonly pooled: Float32Array[];
  readonly width: number;
}

/**
 * Both text encoders read the prompt and the negative prompt at layer −(clip skip + 1) (the penultimate layer by
 * default); their vectors are put side by side per token, and the second encoder's pooled projection of the first
 * 75-token chunk (A1111's choice; diffusers has one chunk) becomes `text_embeds`. With guidance and no negative
 * prompt, the unconditional half is zeros when the model says so (`force_zeros_for_empty_prompt`). An SDXL
 * embedding's name takes the same token slots in both, each encoder reading its own vectors (`clip_l`, `clip_g`).
 * The time ids are `(height, width, 0, 0, height, width)`: the picture as if it was not cropped.
 */
export async function encodeSdxlPrompt(
  model: StableDiffusionModel,
  second: SecondTextEncoder,
  request: ResolvedRequest,
  timing: TimingRecorder,
): Promise<Conditioning> {
  const guided = request.cfg > 1;
  const zeroNegative = guided && second.forceZerosForEmptyPrompt && request.negativePrompt.trim() === '';
  const { prompt, negativePrompt, promptSyntax } = request;
  const firstTokens = tokenizePromptPair(model.tokenizer, prompt, negativePrompt, promptSyntax, model.embeddings);
  const secondTokens = tokenizePromptPair(second.tokenizer, prompt, negativePrompt, promptSyntax, second.embeddings);
  const sidesOf = (tokens: typeof firstTokens): PromptTokens[] =>
    guided && !zeroNegative ? [tokens.negative, tokens.prompt] : [tokens.prompt];
  requireSameChunks(model, second, firstTokens.prompt, secondTokens.prompt);
  const first = await encodeSides(model.textEncoder, sidesOf(firstTokens), { fromEnd: request.clipSkip, pooled: false, embeddings: model.embeddings.rows }, timing);
  const other = await encodeSides(second.textEncoder, sidesOf(secondTokens), { fromEnd: request.clipSkip, pooled: true, embeddings: second.embeddings.rows }, timing);
  const sideRows = first.hidden.map((hidden, side) => sideBySide(hidden, first.width, other.hidden[side], other.width));
  const pooledRows = other.pooled;
  if (zeroNegative) {
    sideRows.unshift(new Float32Array(sideRows[0]?.length ?? 0));
    pooledRows.unshift(new Float32Array(pooledRows[0]?.length ?? 0));
  }
  const n = request.count;
  const width = first.width + other.width;
  return {
    hidden: repeatRows(sideRows, n),
    batch: sideRows.length * n,
    tokens: (sideRows[0]?.length ?? 0) / width,
    guided,
    warnings: firstTokens.warnings,
    embeddings: [...new Set(sidesOf(firstTokens).flatMap((side) => side.embeddings))],
    added: addedConditioning(repeatRows(pooledRows, n), sideRows.length * n, request),
  };
}

/**
 * Checks that SDXL's two tokenizers split a text alike. Both are CLIP's BPE and differ only in padding; a tokenizer
 * folder of another vocabulary could split otherwise.
 * @throws PipelineError `MODEL_MISMATCH`.
 */
export function requireSameChunks(model: StableDiffusionModel, second: SecondTextEncoder, first: PromptTokens, other: PromptTokens): void {
  if (first.chunks.length === other.chunks.length) return;
  const message = `${model.folder.dir}: its two tokenizers split the prompt into different numbers of 75-token chunks`;
  throw new PipelineError('MODEL_MISMATCH', message, { file: second.textEncoder.session.file });
}

/** One encoder's sides in one batch: each side's chunks, weighted, and the first chunk's pooled projection. */
async function encodeSides(
  encoder: StableDiffusionModel['textEncoder'],
  sides: readonly PromptTokens[],
  reading: Parameters<ClipTextEncoder['encodeLayer']>[1],
  timing: TimingRecorder,
): Promise<EncodedSides> {
  const windows = sides.flatMap((side) => side.chunks);
  const encoded: LayerEncoding = await encoder.encodeLayer(windows, reading, timing.textEncoder);
  const windowSize = encoded.hidden.length / windows.length;
  const width = windowSize / (windows[0]?.length ?? 1);
  const hidden: Float32Array[] = [];
  const pooledRows: Float32Array[] = [];
  let window = 0;
  for (const side of sides) {
    const start = window * windowSize;
    side.weights.forEach((weights, i) => {
      applyPromptWeights(encoded.hidden.subarray(start + i * windowSize, start + (i + 1) * windowSize), weights, width);
    });
    hidden.push(encoded.hidden.slice(start, start + side.chunks.length * windowSize));
    if (encoded.pooled) {
      const size = encoded.pooled.length / windows.length;
      pooledRows.push(encoded.pooled.slice(window * size, (window + 1) * size));
    }
    window += side.chunks.length;
  }
  return { hidden, pooled: pooledRows, width };
}

/** Two encoders' token vectors side by side: `[tokens, a]` and `[tokens, b]` → `[tokens, a + b]`. */
export function sideBySide(a: Float32Array, aWidth: number, b: Float32Array | undefined, bWidth: number): Float32Array {
  const tokens = a.length / aWidth;
  const out = new Float32Array(tokens * (aWidth + bWidth));
  for (let t = 0; t < tokens; t++) {
    out.set(a.subarray(t * aWidth, (t + 1) * aWidth), t * (aWidth + bWidth));
    if (b) out.set(b.subarray(t * bWidth, (t + 1) * bWidth), t * (aWidth + bWidth) + aWidth);
  }
  return out;
}

/** The UNet batch: each side's row repeated for the n images, sides in order. */
function repeatRows(rows: readonly Float32Array[], n: number): Float32Array {
  const size = rows[0]?.length ?? 0;
  const out = new Float32Array(rows.length * n * size);
  rows.forEach((row, side) => {
    for (let i = 0; i < n; i++) out.set(row, (side * n + i) * size);
  });
  return out;
}

function addedConditioning(textEmbeds: Float32Array, batch: number, request: ResolvedRequest): AddedConditioning {
  const { height, width } = request;
  const timeIds = new Float32Array(batch * TIME_IDS);
  for (let b = 0; b < batch; b++) timeIds.set([height, width, 0, 0, height, width], b * TIME_IDS);
  return { textEmbeds, timeIds };
}
