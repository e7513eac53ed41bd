import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from '../errors.js';
import type { SessionFactory } from '../runtime/session-factory.js';
import type { PipelineLogger } from '../logger.js';
import { ClipTokenizer, EmbeddingVocabulary, type TextualInversion } from '../tokenizer/index.js';
import { familyOf, type ModelFamily } from './families.js';
import { readModelFolder, type ModelFolder } from './model-folder.js';
import { ClipTextEncoder } from './text-encoder.js';
import { Unet } from './unet.js';
import { VaeDecoder } from './vae-decoder.js';
import { VaeEncoder } from './vae-encoder.js';

export type { ModelFamily } from './families.js';

/** Every component of a loaded Stable Diffusion model, checked to fit together. */
export interface StableDiffusionModel {
  readonly folder: ModelFolder;
  readonly family: ModelFamily;
  /** Width of the text conditioning vectors. */
  readonly hiddenSize: number;
  /** `prediction_type` of the model's scheduler config: `epsilon`, or `v_prediction` for SD 2.x 768-v models. */
  readonly predictionType: string;
  readonly tokenizer: ClipTokenizer;
  /** The textual-inversion embeddings prompts may call (none when the text encoder takes none). */
  readonly embeddings: EmbeddingVocabulary;
  readonly textEncoder: ClipTextEncoder;
  readonly unet: Unet;
  /** Absent when the folder has no `vae_encoder` (txt2img only). */
  readonly vaeEncoder: VaeEncoder | undefined;
  readonly vaeDecoder: VaeDecoder;
}

/** Textual-inversion embeddings for the model's prompts, and where to say which cannot be used. */
export interface EmbeddingOptions {
  readonly embeddings?: readonly TextualInversion[];
  readonly log?: PipelineLogger;
}

/**
 * Loads the model folder `dir` (diffusers / optimum ONNX layout): reads its layout, creates one session per
 * component through `sessions`, and checks that the components fit together. Embeddings of another width than
 * the text encoder's (SD 1.x's for SD 2.x), or all of them for a text encoder without `extra_embeddings`, are
 * left out with a warning, as A1111 skips them.
 * @throws PipelineError `MODEL_MISSING_FILE`, `MODEL_CORRUPT`, `MODEL_UNSUPPORTED`, `MODEL_MISMATCH`,
 *   `PROVIDER_UNAVAILABLE`; the message names the file.
 */
export async function loadStableDiffusionModel(
  dir: string,
  sessions: SessionFactory,
  options: EmbeddingOptions = {},
): Promise<StableDiffusionModel> {
  const folder = readModelFolder(dir);
  const tokenizer = await loadTokenizer(folder.tokenizerDir);
  const textEncoder = new ClipTextEncoder(await sessions.load(folder.textEncoder));
  const unet = new Unet(await sessions.load(folder.unet));
  const vaeDecoder = new VaeDecoder(await sessions.load(folder.vaeDecoder));
  const vaeEncoder = folder.vaeEncoder ? new VaeEncoder(await sessions.load(folder.vaeEncoder)) : undefined;
  const hiddenSize = conditioningWidth(textEncoder, unet);
  const prediction = folder.schedulerConfig.prediction_type;
  return {
    folder,
    family: familyOf(hiddenSize),
    hiddenSize,
    predictionType: typeof prediction === 'string' ? prediction : 'epsilon',
    tokenizer,
    embeddings: new EmbeddingVocabulary(tokenizer, usableEmbeddings(textEncoder, hiddenSize, options)),
    textEncoder,
    unet,
    vaeEncoder,
    vaeDecoder,
  };
}

/** The text encoder's output width, checked against what the UNet takes. */
function conditioningWidth(textEncoder: ClipTextEncoder, unet: Unet): number {
  const encoderWidth = textEncoder.hiddenSize;
  const unetWidth = unet.hiddenSize;
  if (encoderWidth !== undefined && unetWidth !== undefined && encoderWidth !== unetWidth) {
    throw new PipelineError(
      'MODEL_MISMATCH',
      `${textEncoder.session.file} outputs ${encoderWidth}-wide vectors but ${unet.session.file} takes ` +
        `${unetWidth}-wide encoder_hidden_states: the components come from different models`,
      { file: unet.session.file },
    );
  }
  const width = encoderWidth ?? unetWidth;
  if (width === undefined) {
    throw new PipelineError(
      'MODEL_UNSUPPORTED',
      `Neither ${textEncoder.session.file} nor ${unet.session.file} declares the hidden size (last axis is symbolic)`,
      { file: unet.session.file },
    );
  }
  return width;
}

function usableEmbeddings(textEncoder: ClipTextEncoder, width: number, options: EmbeddingOptions): TextualInversion[] {
  const all = options.embeddings ?? [];
  if (all.length > 0 && !textEncoder.takesEmbeddings) {
    options.log?.('warn', 'embeddings left out: this text encoder takes none (a checkpoint converted by dreamcord does)', {
      file: textEncoder.session.file,
      embeddings: all.map((e) => e.name),
    });
    return [];
  }
  return all.filter((embedding) => {
    const fits = embedding.vectors.length === embedding.count * width;
    if (!fits) {
      const vectorWidth = embedding.vectors.length / embedding.count;
      options.log?.('warn', 'embedding left out: made for another model family', { name: embedding.name, vectorWidth, width });
    }
    return fits;
  });
}

async function loadTokenizer(dir: string): Promise<ClipTokenizer> {
  try {
    return await ClipTokenizer.load(dir);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const file = existsSync(join(dir, 'tokenizer.json')) ? join(dir, 'tokenizer.json') : join(dir, 'vocab.json');
    const message = `Cannot read the tokenizer in ${dir}: ${reason}`;
    throw new PipelineError('MODEL_CORRUPT', message, { file }, { cause: error });
  }
}
