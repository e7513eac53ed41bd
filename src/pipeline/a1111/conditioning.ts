// A1111's text conditioning (`sd_hijack_clip.FrozenCLIPEmbedderWithCustomWords.forward`): one prompt's
// 75-token chunks encoded one by one and concatenated, the emphasis mode applied per chunk. A prompt and its
// negative prompt keep their own lengths (A1111's `pad_cond_uncond` is off by default). SDXL's two encoders are
// read as `sd_models_xl.get_learned_conditioning` reads them (see sdxl-conditioning.ts).
import type { StableDiffusionModel } from '../models/stable-diffusion-model.js';
import type { ResolvedRequest } from '../request.js';
import type { TimingRecorder } from '../timing.js';
import { applyPromptWeights, tokenizePrompt, type Emphasis } from '../tokenizer/index.js';
import { encodeSdxlA1111Prompt } from './sdxl-conditioning.js';

/** One prompt as the UNet's `encoder_hidden_states` row: `[tokens, hiddenSize]`. */
export interface PromptConditioning {
  readonly hidden: Float32Array;
  /** 77 per chunk. */
  readonly tokens: number;
  /** SDXL's `vector` text part: the second encoder's pooled projection of the first chunk (`text_embeds`). */
  readonly pooled?: Float32Array;
}

/** An encoded prompt with what reading it dropped (for the user) and the embeddings it called. */
export interface EncodedPrompt {
  readonly conditioning: PromptConditioning;
  readonly notices: readonly string[];
  readonly embeddings: readonly string[];
}

/** The request's fields that change how A1111 reads a text. */
export type TextReading = Pick<ResolvedRequest, 'promptSyntax' | 'clipSkip' | 'emphasis'>;

/** Encodes `text` as A1111 does for `request` (its clip skip and emphasis mode). */
export async function encodeA1111Prompt(
  model: StableDiffusionModel,
  text: string,
  request: TextReading,
  timing: TimingRecorder,
): Promise<EncodedPrompt> {
  if (model.second) return encodeSdxlA1111Prompt(model, model.second, text, request, timing);
  const { tokens, notices } = tokenizePrompt(model.tokenizer, text, request.promptSyntax, model.embeddings, request.emphasis);
  const hidden = await model.textEncoder.encode(
    tokens.chunks,
    { clipSkip: request.clipSkip, embeddings: model.embeddings.rows },
    timing.textEncoder,
  );
  applyEmphasis(hidden, tokens.weights, model.hiddenSize, request.emphasis);
  return {
    conditioning: { hidden, tokens: hidden.length / model.hiddenSize },
    notices,
    embeddings: tokens.embeddings,
  };
}

/**
 * A1111's emphasis (`sd_emphasis`), chunk by chunk on one encoder's output `[chunks · 77, width]`: `Original`
 * multiplies by the weights and restores the chunk's mean, `No norm` only multiplies, `None` does nothing.
 */
export function applyEmphasis(hidden: Float32Array, weights: readonly Float32Array[], width: number, emphasis: Emphasis): void {
  if (emphasis === 'None') return;
  const windowSize = hidden.length / weights.length;
  weights.forEach((chunkWeights, i) => {
    const window = hidden.subarray(i * windowSize, (i + 1) * windowSize);
    applyPromptWeights(window, chunkWeights, width, emphasis === 'Original');
  });
}
