import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PipelineError } from '../errors.js';
import type { SessionFactory } from '../runtime/session-factory.js';
import type { PipelineLogger } from '../logger.js';
import { MergedWeights } from '../lora/merged-weights.js';
import { PATCHED_COMPONENTS, type PatchableWeight, type PatchedComponent } from '../lora/patch.js';
import { ClipTokenizer, EmbeddingVocabulary, type TextualInversion } from '../tokenizer/index.js';
import { familyOf, nativeSizeOf, type ModelFamily } from './families.js';
import { readModelFolder, unetCudaGraph, type ModelFolder, type SecondEncoderFiles } from './model-folder.js';
import { ClipTextEncoder } from './text-encoder.js';
import { Unet } from './unet.js';
import { VaeDecoder, type VaeFallback } from './vae-decoder.js';
import { resolveVaeTiling, type VaeTiling, type VaeTilingOptions } from './vae-tiling.js';
import { VaeEncoder } from './vae-encoder.js';
import type { SchedulerConfig } from '../schedulers/index.js';

export type { ModelFamily } from './families.js';

/** Every component of a loaded Stable Diffusion model, checked to fit together. */
export interface StableDiffusionModel {
  readonly folder: ModelFolder;
  readonly family: ModelFamily;
  /** Width of the text conditioning vectors (SDXL: both encoders' side by side). */
  readonly hiddenSize: number;
  /** `prediction_type` of the model's scheduler config: `epsilon`, or `v_prediction` for SD 2.x 768-v models. */
  readonly predictionType: string;
  readonly tokenizer: ClipTokenizer;
  /** The textual-inversion embeddings prompts may call (none when the text encoder takes none). */
  readonly embeddings: EmbeddingVocabulary;
  readonly textEncoder: ClipTextEncoder;
  /** SDXL's second text encoder and tokenizer; undefined for SD 1.x / 2.x. */
  readonly second: SecondTextEncoder | undefined;
  readonly unet: Unet;
  /** Absent when the folder has no `vae_encoder` (txt2img only). */
  readonly vaeEncoder: VaeEncoder | undefined;
  readonly vaeDecoder: VaeDecoder;
  /** LoRA merging, for a folder dreamcord converted (weight tables and `weight_ops/`); else undefined. */
  readonly patching: Patching | undefined;
}

/** SDXL's second text encoder (OpenCLIP ViT-bigG, with its pooled projection). */
export interface SecondTextEncoder {
  readonly tokenizer: ClipTokenizer;
  /** The same embeddings as the first encoder's, by the same names and slots, with their `clip_g` vectors. */
  readonly embeddings: EmbeddingVocabulary;
  readonly textEncoder: ClipTextEncoder;
  /** No negative prompt conditions on zeros (diffusers' `force_zeros_for_empty_prompt`). */
  readonly forceZerosForEmptyPrompt: boolean;
}

/**
 * What a converted model offers for LoRA: each component's weight table (none for a component the model lacks:
 * SD 1.x's `text_encoder_2`), and the merged-weights cache of each component it has.
 */
export interface Patching {
  readonly weights: Readonly<Record<PatchedComponent, readonly PatchableWeight[]>>;
  readonly merged: Readonly<Partial<Record<PatchedComponent, MergedWeights>>>;
}

/** The weight table the converter writes beside each component's `model.onnx`. */
const WEIGHT_TABLE_FILE = 'weights.json';

/** Textual-inversion embeddings for the model's prompts, where to say which cannot be used, and VAE tiling. */
export interface EmbeddingOptions {
  readonly embeddings?: readonly TextualInversion[];
  readonly log?: PipelineLogger;
  /** When the VAE decoder decodes in tiles (`vae-tiling.ts`). @default auto, tiles of the model's native size */
  readonly vaeTiling?: VaeTilingOptions;
}

/** How {@link loadStableDiffusionModel} reads a model: its embeddings, and what its files do not say. */
export interface ModelLoadOptions extends EmbeddingOptions {
  /**
   * Keys laid over the folder's `scheduler/scheduler_config.json` (a `MODELS_DIR` sidecar's `prediction_type` and
   * `rescale_betas_zero_snr`): both sampling modes, and `ModelInfo.schedulerConfig`, read the result.
   */
  readonly schedulerOverrides?: SchedulerConfig;
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
  options: ModelLoadOptions = {},
): Promise<StableDiffusionModel> {
  const read = readModelFolder(dir);
  const folder = { ...read, schedulerConfig: { ...read.schedulerConfig, ...options.schedulerOverrides } };
  const tokenizer = await loadTokenizer(folder.tokenizerDir);
  const textEncoder = new ClipTextEncoder(await sessions.load(folder.textEncoder));
  // The UNet alone may run as CUDA graphs (a job's steps have one shape; the text encoder's shape arithmetic runs on the CPU).
  const unet = new Unet(await sessions.load(folder.unet, { cudaGraph: unetCudaGraph(folder) }));
  const vaeDecoderSession = await sessions.load(folder.vaeDecoder);
  const vaeEncoder = folder.vaeEncoder ? new VaeEncoder(await sessions.load(folder.vaeEncoder)) : undefined;
  const secondEncoder = folder.second && (await loadSecondEncoder(folder.second, sessions));
  const hiddenSize = conditioningWidth(textEncoder, unet, secondEncoder?.textEncoder);
  const prediction = folder.schedulerConfig.prediction_type;
  const embeddings = usableEmbeddings(textEncoder, hiddenSize, secondEncoder?.textEncoder, options);
  // Each encoder reads its own vectors of an embedding: the second its `clip_g` (only SDXL embeddings are usable here).
  const second = secondEncoder && {
    ...secondEncoder,
    embeddings: new EmbeddingVocabulary(
      secondEncoder.tokenizer,
      embeddings.map(({ name, count, secondVectors }) => ({ name, count, vectors: secondVectors ?? new Float32Array() })),
    ),
  };
  const family = familyOf(hiddenSize, second !== undefined);
  const predictionType = typeof prediction === 'string' ? prediction : 'epsilon';
  const tiling = resolveVaeTiling(options.vaeTiling, nativeSizeOf(family, predictionType));
  const fallback = vaeFallback(folder, sessions, tiling, options.log);
  const vaeDecoder = new VaeDecoder(vaeDecoderSession, fallback ? { tiling, fallback } : { tiling });
  return {
    folder,
    family,
    hiddenSize,
    predictionType,
    tokenizer,
    embeddings: new EmbeddingVocabulary(tokenizer, embeddings),
    textEncoder,
    second,
    unet,
    vaeEncoder,
    vaeDecoder,
    patching: await loadPatching(folder, sessions, { text_encoder: textEncoder, text_encoder_2: second?.textEncoder, unet }),
  };
}

/**
 * The fp32 decoder of an fp16 model that has one (dreamcord's SDXL fp16 conversions), loaded on the first picture
 * the fp16 decoder overflows on, each such picture logged.
 */
function vaeFallback(
  folder: ModelFolder,
  sessions: SessionFactory,
  tiling: VaeTiling,
  log: PipelineLogger | undefined,
): VaeFallback | undefined {
  const file = folder.vaeDecoderFp32;
  if (file === undefined) return undefined;
  return {
    load: async () => new VaeDecoder(await sessions.load(file), { tiling }),
    onOverflow: () => log?.('warn', 'the fp16 VAE decoder overflowed (NaN or infinity in the picture); decoding it again in fp32', { file }),
  };
}

async function loadSecondEncoder(files: SecondEncoderFiles, sessions: SessionFactory): Promise<Omit<SecondTextEncoder, 'embeddings'>> {
  const tokenizer = await loadTokenizer(files.tokenizerDir);
  const textEncoder = new ClipTextEncoder(await sessions.load(files.textEncoder));
  if (!textEncoder.projects || textEncoder.layers < 2) {
    throw new PipelineError(
      'MODEL_UNSUPPORTED',
      `${files.textEncoder} must output text_embeds and hidden_states.N (SDXL's second text encoder, as exported by ` +
        'dreamcord or optimum)',
      { file: files.textEncoder },
    );
  }
  return { tokenizer, textEncoder, forceZerosForEmptyPrompt: files.forceZerosForEmptyPrompt };
}

/**
 * The largest clip skip `model` offers: the text encoder's `clip_skip.k` outputs, or for SDXL the layers both
 * encoders output (SDXL reads layer −(k + 1), so clip skip 1 is its usual penultimate layer).
 */
export function maxClipSkipOf(model: StableDiffusionModel): number {
  return model.second ? Math.min(model.textEncoder.layers, model.second.textEncoder.layers) : model.textEncoder.maxClipSkip;
}

/** LoRA merging for a folder with weight tables and `weight_ops/model.onnx`; undefined for other exports. */
async function loadPatching(
  folder: ModelFolder,
  sessions: SessionFactory,
  parts: Readonly<Record<PatchedComponent, ClipTextEncoder | Unet | undefined>>,
): Promise<Patching | undefined> {
  const weightOpsFile = join(folder.dir, 'weight_ops', 'model.onnx');
  const tableOf = (file: string): string => join(dirname(file), WEIGHT_TABLE_FILE);
  const present = PATCHED_COMPONENTS.flatMap((component) => {
    const part = parts[component];
    return part ? [{ component, session: part.session }] : [];
  });
  if (![weightOpsFile, ...present.map(({ session }) => tableOf(session.file))].every((file) => existsSync(file))) return undefined;
  const weightOps = await sessions.load(weightOpsFile);
  const weights: Record<PatchedComponent, readonly PatchableWeight[]> = { text_encoder: [], text_encoder_2: [], unet: [] };
  const merged: Partial<Record<PatchedComponent, MergedWeights>> = {};
  for (const { component, session } of present) {
    weights[component] = readWeightTable(tableOf(session.file));
    const table = new Map(weights[component].map((weight) => [weight.name, weight]));
    merged[component] = new MergedWeights(component, session.file, table, weightOps, sessions, session.provider);
  }
  return { weights, merged };
}

function readWeightTable(file: string): PatchableWeight[] {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PatchableWeight[];
  } catch (error) {
    throw new PipelineError('MODEL_CORRUPT', `Cannot read ${file}: ${(error as Error).message}`, { file }, { cause: error });
  }
}

/** The text encoders' output width (SDXL: both side by side), checked against what the UNet takes. */
function conditioningWidth(textEncoder: ClipTextEncoder, unet: Unet, second: ClipTextEncoder | undefined): number {
  const encoderWidth = second ? sumOf(textEncoder.hiddenSize, second.hiddenSize) : textEncoder.hiddenSize;
  if ((second !== undefined) !== unet.takesAddedConditioning) {
    const message = second
      ? `${unet.session.file} does not take text_embeds and time_ids, but the model has two text encoders (SDXL)`
      : `${unet.session.file} takes text_embeds and time_ids (SDXL), but the model has no text_encoder_2`;
    throw new PipelineError('MODEL_MISMATCH', message, { file: unet.session.file });
  }
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

function sumOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a + b;
}

/**
 * The embeddings both of the model's text encoders can take: SD 1.x / 2.x's of the text encoder's width, SDXL's
 * (`clip_l` and `clip_g`) of each encoder's. The others are left out, each with a warning saying why.
 */
function usableEmbeddings(
  textEncoder: ClipTextEncoder,
  width: number,
  second: ClipTextEncoder | undefined,
  options: EmbeddingOptions,
): TextualInversion[] {
  const all = options.embeddings ?? [];
  const without = [textEncoder, ...(second ? [second] : [])].find((encoder) => !encoder.takesEmbeddings);
  if (all.length > 0 && without) {
    options.log?.('warn', 'embeddings left out: this text encoder takes none (a checkpoint converted by dreamcord does)', {
      file: without.session.file,
      embeddings: all.map((e) => e.name),
    });
    return [];
  }
  const widths = second ? [textEncoder.hiddenSize ?? 0, second.hiddenSize ?? 0] : [width];
  return all.filter((embedding) => {
    const reason = embeddingMisfit(embedding, widths);
    if (reason) options.log?.('warn', `embedding left out: ${reason}`, { name: embedding.name });
    return reason === undefined;
  });
}

/** Why `embedding` does not fit text encoders of `widths` (one: SD 1.x / 2.x; two: SDXL's), or undefined. */
function embeddingMisfit(embedding: TextualInversion, widths: readonly number[]): string | undefined {
  const { count, vectors, secondVectors } = embedding;
  const own = secondVectors ? [vectors.length / count, secondVectors.length / count] : [vectors.length / count];
  if (own.length !== widths.length) {
    return own.length === 2
      ? 'an SDXL embedding (clip_l and clip_g), and this model has one text encoder'
      : 'made for SD 1.x / 2.x (one set of vectors); this SDXL model takes SDXL embeddings (clip_l and clip_g)';
  }
  if (own.every((w, i) => w === widths[i])) return undefined;
  return own.length === 2
    ? `its clip_l and clip_g vectors are ${own.join(' and ')} wide; this model's text encoders take ${widths.join(' and ')}`
    : `made for another model family: its vectors are ${own.join('')} wide; this model's text encoder takes ${widths.join('')}`;
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
