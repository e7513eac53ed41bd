// A1111's text conditioning (`sd_hijack_clip.FrozenCLIPEmbedderWithCustomWords.forward`): one prompt's
// 75-token chunks encoded one by one and concatenated, the emphasis mode applied per chunk. A prompt and its
// negative prompt keep their own lengths (A1111's `pad_cond_uncond` is off by default).
import type { StableDiffusionModel } from '../models/stable-diffusion-model.js';
import type { ResolvedRequest } from '../request.js';
import type { TimingRecorder } from '../timing.js';
import { applyPromptWeights, tokenizePrompt } from '../tokenizer/index.js';

/** One prompt as the UNet's `encoder_hidden_states` row: `[tokens, hiddenSize]`. */
export interface PromptConditioning {
  readonly hidden: Float32Array;
  /** 77 per chunk. */
  readonly tokens: number;
}

/** An encoded prompt with what reading it dropped (for the user) and the embeddings it called. */
export interface EncodedPrompt {
  readonly conditioning: PromptConditioning;
  readonly notices: readonly string[];
  readonly embeddings: readonly string[];
}

/** Encodes `text` as A1111 does for `request` (its clip skip and emphasis mode). */
export async function encodeA1111Prompt(
  model: StableDiffusionModel,
  text: string,
  request: Pick<ResolvedRequest, 'promptSyntax' | 'clipSkip' | 'emphasis'>,
  timing: TimingRecorder,
): Promise<EncodedPrompt> {
  const { tokens, notices } = tokenizePrompt(model.tokenizer, text, request.promptSyntax, model.embeddings, request.emphasis);
  const hidden = await model.textEncoder.encode(
    tokens.chunks,
    { clipSkip: request.clipSkip, embeddings: model.embeddings.rows },
    timing.textEncoder,
  );
  const windowSize = hidden.length / tokens.chunks.length;
  if (request.emphasis !== 'None') {
    tokens.weights.forEach((weights, i) => {
      const window = hidden.subarray(i * windowSize, (i + 1) * windowSize);
      applyPromptWeights(window, weights, model.hiddenSize, request.emphasis === 'Original');
    });
  }
  return {
    conditioning: { hidden, tokens: hidden.length / model.hiddenSize },
    notices,
    embeddings: tokens.embeddings,
  };
}
