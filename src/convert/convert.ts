import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCheckpoint, type OpenedCheckpoint } from '../checkpoint/index.js';
import type { FamilyId, WeightSource } from '../checkpoint/components.js';
import { ConvertError } from './errors.js';
import { writeTextEncoder } from './graphs/text-encoder.js';
import { writeUNet } from './graphs/unet.js';
import { writeVaeDecoder, writeVaeEncoder } from './graphs/vae.js';
import { writeWeightOps } from './graphs/weight-ops.js';
import type { GraphTarget } from './graphs/image-layers.js';
import type { ComponentDtype, GraphWriteOptions } from './graphs/write-component.js';
import { sourceIdentity, sourceSha256 } from './source-files.js';
import { CONVERSION_MANIFEST_FILE } from '../pipeline/index.js';

/** Bumped whenever the written graphs change, so cached conversions made by an older converter are redone. */
export const CONVERTER_VERSION = 5;

/**
 * The manifest a finished conversion holds (a folder without it is not a finished conversion); the pipeline reads its
 * `target` too (CUDA graphs are for the CUDA form), hence the name is the pipeline's.
 */
export const MANIFEST_FILE = CONVERSION_MANIFEST_FILE;

/** The CLIP BPE files bundled with dreamcord (SD 1.x and 2.x both tokenize with them); the big two gzipped. */
const BUNDLED_TOKENIZER = fileURLToPath(new URL('../../assets/clip-tokenizer/', import.meta.url));

export interface ConversionManifest {
  readonly converter: 'dreamcord';
  readonly converterVersion: number;
  readonly dtype: ComponentDtype;
  /** The graphs' form; absent in conversions made before there were two (they are portable). */
  readonly target?: GraphTarget;
  readonly family: FamilyId;
  /**
   * What the source's marker keys said of its sampling (`OpenedCheckpoint.sampling`: `v_pred`, `ztsnr`), written into
   * its scheduler config; absent in conversions made before the converter read them, which the model cache brings
   * up to date (`bringSamplingUpToDate`).
   */
  readonly sampling?: Readonly<Record<string, unknown>>;
  readonly source: { readonly name: string; readonly size: number; readonly mtimeMs: number; readonly sha256: string };
  readonly createdAt: string;
}

/** One component's progress; `fraction` is of the whole conversion, weighted by parameters. */
export interface ConvertProgress {
  readonly component: ComponentName;
  readonly fraction: number;
}

export type ComponentName = 'text_encoder' | 'text_encoder_2' | 'unet' | 'vae_encoder' | 'vae_decoder' | 'vae_decoder_fp32';

export interface ConvertOptions {
  /** Always `fp16` for the `cuda` target, whose fused kernels are meant for it. */
  readonly dtype: ComponentDtype;
  /** The form of the UNet and VAE graphs (see {@link GraphTarget}). @default 'portable' */
  readonly target?: GraphTarget;
  readonly onProgress?: (progress: ConvertProgress) => void;
  /** Problems worth telling but not fatal (NaN-filled tensors). */
  readonly onWarning?: (message: string) => void;
  /** The source's sha256 when the caller has already hashed it (the model cache). */
  readonly sha256?: string;
}

export interface ConvertResult {
  readonly outDir: string;
  readonly manifest: ConversionManifest;
}

/**
 * Converts a `.safetensors` checkpoint or diffusers folder into the diffusers ONNX layout the pipeline reads
 * (`model_index.json`, `scheduler/`, `tokenizer/`, `text_encoder/`, `unet/`, `vae_encoder/`, `vae_decoder/`,
 * SDXL's `tokenizer_2/` and `text_encoder_2/` (and in fp16 `vae_decoder_fp32/`), and the manifest), in a temporary folder beside `outDir` renamed into place only when complete: a failure, a
 * full disk or a killed process never leaves a folder at `outDir`.
 * @throws CheckpointError for bad input (before anything is written), ConvertError writing the output.
 */
export async function convertCheckpoint(source: string, outDir: string, options: ConvertOptions): Promise<ConvertResult> {
  const target = resolve(outDir);
  if (existsSync(target)) throw new ConvertError('OUTPUT_EXISTS', `${outDir} already exists; choose a new --out folder`);
  if (options.target === 'cuda' && options.dtype !== 'fp16') {
    // A caller's bug (the CLI and the model cache never ask for it), not bad input.
    throw new RangeError(`The cuda target is fp16 only; got dtype ${options.dtype}`);
  }
  const checkpoint = openCheckpoint(source, options.onWarning ? { onWarning: options.onWarning } : {});
  const sha256 = options.sha256 ?? (await sourceSha256(source));
  const temp = join(dirname(target), `.${basename(target)}.partial-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(temp, { recursive: true });
    await writeComponents(checkpoint, temp, options);
    await writeSmallFiles(checkpoint, temp);
    const manifest: ConversionManifest = {
      converter: 'dreamcord',
      converterVersion: CONVERTER_VERSION,
      dtype: options.dtype,
      target: options.target ?? 'portable',
      family: checkpoint.family.id,
      sampling: checkpoint.sampling,
      source: { name: basename(resolve(source)), ...sourceIdentity(source), sha256 },
      createdAt: new Date().toISOString(),
    };
    // The manifest last: a folder that has it was written completely.
    await writeJson(join(temp, MANIFEST_FILE), manifest);
    await rename(temp, target);
    return { outDir: target, manifest };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw asConvertError(error, outDir);
  }
}

/** Reads a finished conversion's manifest; undefined when `dir` holds none (or an unreadable one). */
export function readManifest(dir: string): ConversionManifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as ConversionManifest;
    return manifest.converter === 'dreamcord' ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/** A file-system failure as a ConvertError; anything else (a CheckpointError found while reading) as it is. */
function asConvertError(error: unknown, outDir: string): unknown {
  if (!(error instanceof Error) || !('syscall' in error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ConvertError('DISK_FULL', `The disk is full while writing ${outDir}; nothing was kept. Free some space and try again.`, {
      cause: error,
    });
  }
  return new ConvertError('WRITE_FAILED', `Could not write ${outDir}: ${error.message}`, { cause: error });
}

/** Parameter counts, to weight each component's share of the progress. */
function parameters(weights: WeightSource, keep: (name: string) => boolean = () => true): number {
  return weights
    .names()
    .filter(keep)
    .reduce((sum, name) => sum + weights.shape(name).reduce((a, b) => a * b, 1), 0);
}

async function writeComponents(checkpoint: OpenedCheckpoint, dir: string, options: ConvertOptions): Promise<void> {
  const { textEncoder, textEncoder2, unet, vae } = checkpoint.components;
  const isEncoder = (n: string): boolean => n.startsWith('encoder.') || n.startsWith('quant_conv.');
  type Job = [ComponentName, number, (o: GraphWriteOptions) => Promise<unknown>];
  const second: Job[] = textEncoder2
    ? [['text_encoder_2', parameters(textEncoder2.weights), (o) => writeTextEncoder(textEncoder2, join(dir, 'text_encoder_2'), o)]]
    : [];
  // SDXL's VAE overflows in fp16 on some pictures: an fp32 decoder (portable, any provider runs it) decodes those.
  const fp32Decoder: Job[] =
    textEncoder2 && options.dtype === 'fp16'
      ? [['vae_decoder_fp32', parameters(vae.weights, (n) => !isEncoder(n)), (o) => writeVaeDecoder(vae, join(dir, 'vae_decoder_fp32'), { ...o, dtype: 'fp32', target: 'portable' })]]
      : [];
  const jobs: Job[] = [
    ['text_encoder', parameters(textEncoder.weights), (o) => writeTextEncoder(textEncoder, join(dir, 'text_encoder'), o)],
    ...second,
    ['unet', parameters(unet.weights), (o) => writeUNet(unet, join(dir, 'unet'), o)],
    ['vae_encoder', parameters(vae.weights, isEncoder), (o) => writeVaeEncoder(vae, join(dir, 'vae_encoder'), o)],
    ['vae_decoder', parameters(vae.weights, (n) => !isEncoder(n)), (o) => writeVaeDecoder(vae, join(dir, 'vae_decoder'), o)],
    ...fp32Decoder,
  ];
  const total = jobs.reduce((sum, [, size]) => sum + size, 0);
  let before = 0;
  for (const [component, size, write] of jobs) {
    const report = (fraction: number): void => options.onProgress?.({ component, fraction: (before + fraction * size) / total });
    report(0);
    await write({
      dtype: options.dtype,
      target: options.target ?? 'portable',
      onProgress: (done, all) => report(all > 0 ? done / all : 1),
    });
    before += size;
  }
  // The LoRA merge, written for the model's float type.
  await writeWeightOps(join(dir, 'weight_ops'), options.dtype);
}

/** SDXL's second tokenizer is CLIP's BPE padding with `!` (id 0), as OpenCLIP's tokenizer does. */
const SECOND_TOKENIZER_PAD = '!';

async function writeSmallFiles(checkpoint: OpenedCheckpoint, dir: string): Promise<void> {
  const inpaint = checkpoint.components.unet.config.inChannels === 9;
  const sdxl = checkpoint.components.textEncoder2 !== undefined;
  const schedulerClass = checkpoint.schedulerConfig._class_name;
  await writeJson(join(dir, 'model_index.json'), {
    _class_name: sdxl ? 'ORTStableDiffusionXLPipeline' : inpaint ? 'OnnxStableDiffusionInpaintPipeline' : 'OnnxStableDiffusionPipeline',
    ...(sdxl
      ? {
          text_encoder_2: ['diffusers', 'OnnxRuntimeModel'],
          tokenizer_2: ['transformers', 'CLIPTokenizer'],
          force_zeros_for_empty_prompt: checkpoint.forceZerosForEmptyPrompt,
        }
      : {}),
    _diffusers_version: '0.40.0',
    text_encoder: ['diffusers', 'OnnxRuntimeModel'],
    unet: ['diffusers', 'OnnxRuntimeModel'],
    vae_encoder: ['diffusers', 'OnnxRuntimeModel'],
    vae_decoder: ['diffusers', 'OnnxRuntimeModel'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    scheduler: ['diffusers', typeof schedulerClass === 'string' ? schedulerClass : 'PNDMScheduler'],
    safety_checker: [null, null],
    feature_extractor: [null, null],
    requires_safety_checker: false,
  });
  await mkdir(join(dir, 'scheduler'));
  await writeJson(join(dir, 'scheduler', 'scheduler_config.json'), checkpoint.schedulerConfig);
  await writeJson(join(dir, 'vae_decoder', 'config.json'), { scaling_factor: checkpoint.components.vae.config.scalingFactor });
  await copyTokenizer(checkpoint.tokenizerDir, join(dir, 'tokenizer'));
  if (sdxl) await copyTokenizer(checkpoint.tokenizer2Dir, join(dir, 'tokenizer_2'), SECOND_TOKENIZER_PAD);
}

/** A folder's own tokenizer, or the bundled one (with `pad` as its pad token when given). */
async function copyTokenizer(from: string | undefined, to: string, pad?: string): Promise<void> {
  await mkdir(to);
  const source = from ?? BUNDLED_TOKENIZER;
  for (const name of await readdir(source)) {
    if (name.endsWith('.gz')) await writeFile(join(to, name.slice(0, -3)), gunzipSync(readFileSync(join(source, name))));
    else if (from === undefined && pad !== undefined && name.endsWith('.json')) {
      const special = JSON.parse(readFileSync(join(source, name), 'utf8')) as Record<string, unknown>;
      await writeJson(join(to, name), { ...special, pad_token: pad });
    } else await copyFile(join(source, name), join(to, name));
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
