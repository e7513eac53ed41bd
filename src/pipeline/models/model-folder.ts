import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from '../errors.js';

/** SD 1.x's VAE latent scale (also SD 2.x's), used when the folder does not record its own. */
const DEFAULT_VAE_SCALING_FACTOR = 0.18215;

/**
 * The files of a diffusers / optimum ONNX Stable Diffusion folder (`OnnxStableDiffusionPipeline` layout), checked
 * to exist. Paths are absolute or relative as the folder was given.
 */
export interface ModelFolder {
  readonly dir: string;
  /** `_class_name` of `model_index.json`, e.g. `OnnxStableDiffusionPipeline`. */
  readonly pipelineClass: string;
  readonly textEncoder: string;
  readonly unet: string;
  /**
   * Whether the converter wrote the graphs in their CUDA form (its manifest's `target`): the form whose UNet ONNX
   * Runtime can capture as CUDA graphs (the portable form's InstanceNormalization cannot be captured).
   */
  readonly cudaForm: boolean;
  /** Absent in txt2img-only exports; img2img and inpainting need it. */
  readonly vaeEncoder: string | undefined;
  readonly vaeDecoder: string;
  /**
   * An fp32 VAE decoder beside an fp16 one (`vae_decoder_fp32/`, dreamcord's SDXL fp16 conversions): decodes the
   * pictures on which the fp16 decoder overflows. Undefined when the folder has none.
   */
  readonly vaeDecoderFp32: string | undefined;
  /** The folder holding `vocab.json` and `merges.txt` (or `tokenizer.json`). */
  readonly tokenizerDir: string;
  /** The parsed `scheduler/scheduler_config.json`. */
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  /** The VAE's latent scale: `scaling_factor` of `vae_decoder/config.json` when present, else 0.18215. */
  readonly vaeScalingFactor: number;
  /** SDXL's second text encoder and its tokenizer (`text_encoder_2/`, `tokenizer_2/`); undefined otherwise. */
  readonly second: SecondEncoderFiles | undefined;
}

/** SDXL's second text encoder, as its ONNX folder holds it. */
export interface SecondEncoderFiles {
  readonly textEncoder: string;
  readonly tokenizerDir: string;
  /**
   * `force_zeros_for_empty_prompt` of `model_index.json` (diffusers' SDXL default, true): without a negative
   * prompt the unconditional half is zeros rather than the encoded empty text.
   */
  readonly forceZerosForEmptyPrompt: boolean;
}

/** The converter's record of a folder it wrote completely (src/convert): its graphs' form (`target`) among others. */
export const CONVERSION_MANIFEST_FILE = 'dreamcord-conversion.json';

/**
 * Reads and checks the layout of the model folder `dir`.
 * @throws PipelineError `MODEL_MISSING_FILE` naming the first missing file, `MODEL_CORRUPT` for unreadable
 *   JSON, `MODEL_UNSUPPORTED` for models dreamcord does not run (the SDXL refiner, transformer models such as
 *   SD 3).
 */
export function readModelFolder(dir: string): ModelFolder {
  const index = readJson(join(dir, 'model_index.json'));
  const pipelineClass = typeof index._class_name === 'string' ? index._class_name : 'unknown';
  if (!('unet' in index)) {
    throw new PipelineError(
      'MODEL_UNSUPPORTED',
      `${dir} (${pipelineClass}) has no UNet; dreamcord runs SD 1.x, 2.x and SDXL models only`,
      { file: join(dir, 'model_index.json') },
    );
  }
  const sdxl = 'text_encoder_2' in index || existsSync(join(dir, 'text_encoder_2'));
  if (sdxl && !existsSync(join(dir, 'text_encoder'))) {
    throw new PipelineError(
      'MODEL_UNSUPPORTED',
      `${dir} is an SDXL refiner (text_encoder_2 without text_encoder): it cannot draw on its own; use an SDXL base model`,
      { file: join(dir, 'model_index.json') },
    );
  }
  const tokenizerDir = requireTokenizer(join(dir, 'tokenizer'));
  const vaeEncoder = join(dir, 'vae_encoder', 'model.onnx');
  const vaeDecoderFp32 = join(dir, 'vae_decoder_fp32', 'model.onnx');
  const vaeConfig = join(dir, 'vae_decoder', 'config.json');
  const scaling = existsSync(vaeConfig) ? readJson(vaeConfig).scaling_factor : undefined;
  return {
    dir,
    pipelineClass,
    textEncoder: requireFile(join(dir, 'text_encoder', 'model.onnx')),
    unet: requireFile(join(dir, 'unet', 'model.onnx')),
    cudaForm: conversionTarget(dir) === 'cuda',
    vaeEncoder: existsSync(vaeEncoder) ? vaeEncoder : undefined,
    vaeDecoder: requireFile(join(dir, 'vae_decoder', 'model.onnx')),
    vaeDecoderFp32: existsSync(vaeDecoderFp32) ? vaeDecoderFp32 : undefined,
    tokenizerDir,
    schedulerConfig: readJson(join(dir, 'scheduler', 'scheduler_config.json')),
    vaeScalingFactor: typeof scaling === 'number' && scaling > 0 ? scaling : DEFAULT_VAE_SCALING_FACTOR,
    second: sdxl
      ? {
          textEncoder: requireFile(join(dir, 'text_encoder_2', 'model.onnx')),
          tokenizerDir: requireTokenizer(join(dir, 'tokenizer_2')),
          forceZerosForEmptyPrompt: index.force_zeros_for_empty_prompt !== false,
        }
      : undefined,
  };
}

/**
 * How the UNet of `folder` is loaded as to CUDA graphs (`SessionFactory.load`'s `cudaGraph`): it may run as graphs
 * only in the CUDA form, since a failed capture of the portable form's UNet leaves CUDA unusable in the process.
 */
export function unetCudaGraph(folder: Pick<ModelFolder, 'cudaForm'>): true | { readonly refused: string } {
  return folder.cudaForm ? true : { refused: 'need the UNet in the CUDA form of the graphs (converted for the CUDA provider)' };
}

/** The graphs' form the converter's manifest records, if the folder has a readable one. */
function conversionTarget(dir: string): unknown {
  const file = join(dir, CONVERSION_MANIFEST_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return readJson(file).target;
  } catch {
    return undefined;
  }
}

/** A tokenizer folder, checked to hold `tokenizer.json` or `vocab.json` and `merges.txt`. */
function requireTokenizer(tokenizerDir: string): string {
  if (!existsSync(join(tokenizerDir, 'tokenizer.json'))) {
    requireFile(join(tokenizerDir, 'vocab.json'));
    requireFile(join(tokenizerDir, 'merges.txt'));
  }
  return tokenizerDir;
}

function requireFile(file: string): string {
  if (!existsSync(file)) throw new PipelineError('MODEL_MISSING_FILE', `Model file not found: ${file}`, { file });
  return file;
}

function readJson(file: string): Record<string, unknown> {
  requireFile(file);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PipelineError('MODEL_CORRUPT', `${file} is not valid JSON: ${reason}`, { file }, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PipelineError('MODEL_CORRUPT', `${file} must hold a JSON object`, { file });
  }
  return value as Record<string, unknown>;
}
