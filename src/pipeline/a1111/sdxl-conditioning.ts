// SDXL's text conditioning in A1111 (`sd_models_xl.get_learned_conditioning` through sgm's `GeneralConditioner`,
// v1.10.1): each of the two embedders (`FrozenCLIPEmbedderForSDXLWithCustomWords`,
// `FrozenOpenCLIPEmbedder2WithCustomWords`) reads the text with A1111's chunking and emphasis on its own, at its
// penultimate layer; their `crossattn` outputs are joined along the width, and the second's pooled projection of
// the first chunk is the text part of the `vector` conditioning (the size embeddings are the UNet's `time_ids`).
import type { SecondTextEncoder, StableDiffusionModel } from '../models/stable-diffusion-model.js';
import { requireSameChunks, sideBySide } from '../sdxl-prompt.js';
import type { TimingRecorder } from '../timing.js';
import { tokenizePrompt } from '../tokenizer/index.js';
import { applyEmphasis, type EncodedPrompt, type TextReading } from './conditioning.js';

/** sgm's SDXL embedders read `hidden_states[-2]` (CLIP's `layer_idx` 11 of 12, OpenCLIP's `penultimate`). */
const PENULTIMATE = 1;

/**
 * Encodes `text` as A1111 conditions an SDXL model on it. A1111 ignores Clip skip for SDXL (its `sdxl_clip_l_skip`
 * option is off by default), so a clip skip over 1 is not applied, with a notice.
 */
export async function encodeSdxlA1111Prompt(
  model: StableDiffusionModel,
  second: SecondTextEncoder,
  text: string,
  request: TextReading,
  timing: TimingRecorder,
): Promise<EncodedPrompt> {
  const { promptSyntax, emphasis } = request;
  const first = tokenizePrompt(model.tokenizer, text, promptSyntax, model.embeddings, emphasis);
  const other = tokenizePrompt(second.tokenizer, text, promptSyntax, second.embeddings, emphasis);
  requireSameChunks(model, second, first.tokens, other.tokens);
  const clipL = await model.textEncoder.encodeLayer(
    first.tokens.chunks,
    { fromEnd: PENULTIMATE, pooled: false, embeddings: model.embeddings.rows },
    timing.textEncoder,
  );
  const openClip = await second.textEncoder.encodeLayer(
    other.tokens.chunks,
    { fromEnd: PENULTIMATE, pooled: true, embeddings: second.embeddings.rows },
    timing.textEncoder,
  );
  const tokens = first.tokens.chunks.length * (first.tokens.chunks[0]?.length ?? 0);
  const clipLWidth = clipL.hidden.length / tokens;
  const openClipWidth = openClip.hidden.length / tokens;
  applyEmphasis(clipL.hidden, first.tokens.weights, clipLWidth, emphasis);
  applyEmphasis(openClip.hidden, other.tokens.weights, openClipWidth, emphasis);
  const pooled = openClip.pooled ?? new Float32Array(0);
  const clipSkipNotice =
    request.clipSkip > 1
      ? [`Clip skip ${request.clipSkip} is not applied: A1111 reads SDXL's text encoders at their penultimate layer whatever Clip skip says (its "Clip skip SDXL" setting is off by default)`]
      : [];
  return {
    conditioning: {
      hidden: sideBySide(clipL.hidden, clipLWidth, openClip.hidden, openClipWidth),
      tokens,
      pooled: pooled.slice(0, pooled.length / other.tokens.chunks.length),
    },
    notices: [...first.notices, ...clipSkipNotice],
    embeddings: first.tokens.embeddings,
  };
}
