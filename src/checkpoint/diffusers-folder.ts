import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  CheckpointComponents,
  DownBlockType,
  TextEncoderConfig,
  UNetConfig,
  UpBlockType,
  VaeConfig,
} from './components.js';
import { CheckpointError } from './errors.js';
import { requireNames, textEncoderNames, unetNames, vaeNames } from './expected-names.js';
import { familyById, findFamily } from './families.js';
import { legacyDiffusersVaeName } from './ldm-names.js';
import { isVaeAttentionProjection, MappedWeights, type TensorRef } from './mapped-weights.js';
import { SafetensorsFile, type SafetensorsOptions } from './safetensors.js';

/** A diffusers folder's parts: its weights, as saved by `save_pretrained`, full or fp16 variant. */
const PARTS = {
  unet: ['unet', ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.fp16.safetensors']],
  vae: ['vae', ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.fp16.safetensors']],
  textEncoder: ['text_encoder', ['model.safetensors', 'model.fp16.safetensors']],
  textEncoder2: ['text_encoder_2', ['model.safetensors', 'model.fp16.safetensors']],
} as const;

export interface FolderCheckpoint {
  readonly components: CheckpointComponents;
  /** The folder's own `scheduler/scheduler_config.json`, when it has one. */
  readonly schedulerConfig: Readonly<Record<string, unknown>> | undefined;
  /** The folder's `tokenizer/`, when it has one. */
  readonly tokenizerDir: string | undefined;
  /** SDXL's `tokenizer_2/`, when the folder has one. */
  readonly tokenizer2Dir: string | undefined;
  /** `force_zeros_for_empty_prompt` of `model_index.json`, when it says. */
  readonly forceZerosForEmptyPrompt: boolean | undefined;
}

/**
 * A diffusers folder (`unet/`, `vae/`, `text_encoder/`, each a safetensors file and a `config.json`): the
 * tensors are already under reference names and the configs are the folder's own.
 * @throws CheckpointError `NOT_FOUND` for a missing part, `PICKLE_REFUSED` for a part saved only as `.bin`,
 *   `UNSUPPORTED_FAMILY` for the SDXL refiner and families dreamcord does not convert, `INCOMPLETE` for missing
 *   tensors.
 */
export function folderComponents(dir: string, options: SafetensorsOptions = {}): FolderCheckpoint {
  const sdxl = existsSync(join(dir, 'text_encoder_2'));
  if (sdxl && !existsSync(join(dir, 'text_encoder'))) {
    const message =
      `${dir} is an SDXL refiner (text_encoder_2 without text_encoder): it refines another model's pictures and ` +
      'cannot draw on its own. Use an SDXL base model (or a fine-tune of it).';
    throw new CheckpointError('UNSUPPORTED_FAMILY', dir, message);
  }
  const unetConfig = unetFromConfig(readConfig(dir, 'unet'), dir);
  const vaeConfig = vaeFromConfig(readConfig(dir, 'vae'));
  const textConfig = textFromConfig(readConfig(dir, 'text_encoder'));
  const layout = textConfig.hiddenAct === 'gelu' ? 'openclip' : 'clip';
  const family = findFamily(layout, unetConfig.inChannels, sdxl);
  if (!family) {
    const what = sdxl ? 'an SDXL UNet' : 'a UNet';
    const message = `${dir}: ${what} with ${unetConfig.inChannels} input channels matches no family dreamcord converts`;
    throw new CheckpointError('UNSUPPORTED_FAMILY', dir, message);
  }
  const textEncoder2 = sdxl
    ? {
        config: textFromConfig(readConfig(dir, 'text_encoder_2'), true),
        weights: partWeights(dir, 'textEncoder2', options, (n) => n),
      }
    : undefined;
  const components: CheckpointComponents = {
    family: family.id,
    unet: { config: unetConfig, weights: partWeights(dir, 'unet', options, (n) => n) },
    vae: { config: vaeConfig, weights: partWeights(dir, 'vae', options, legacyDiffusersVaeName) },
    textEncoder: { config: textConfig, weights: partWeights(dir, 'textEncoder', options, (n) => n) },
    ...(textEncoder2 ? { textEncoder2 } : {}),
  };
  requireNames(dir, 'UNet', components.unet.weights, unetNames(unetConfig));
  requireNames(dir, 'VAE', components.vae.weights, vaeNames(vaeConfig));
  requireNames(dir, 'text encoder', components.textEncoder.weights, textEncoderNames(textConfig));
  if (textEncoder2) requireNames(dir, 'second text encoder', textEncoder2.weights, textEncoderNames(textEncoder2.config));
  const schedulerFile = join(dir, 'scheduler', 'scheduler_config.json');
  const indexFile = join(dir, 'model_index.json');
  const forceZeros = existsSync(indexFile) ? readJson(indexFile).force_zeros_for_empty_prompt : undefined;
  return {
    components,
    schedulerConfig: existsSync(schedulerFile) ? readJson(schedulerFile) : undefined,
    tokenizerDir: tokenizerIn(dir, 'tokenizer'),
    tokenizer2Dir: tokenizerIn(dir, 'tokenizer_2'),
    forceZerosForEmptyPrompt: typeof forceZeros === 'boolean' ? forceZeros : undefined,
  };
}

function tokenizerIn(dir: string, folder: string): string | undefined {
  return existsSync(join(dir, folder, 'vocab.json')) ? join(dir, folder) : undefined;
}

/** True when `dir` looks like a diffusers folder (as opposed to an ONNX export, which has `unet/model.onnx`). */
export function isDiffusersFolder(dir: string): boolean {
  return existsSync(join(dir, 'unet', 'config.json')) && !existsSync(join(dir, 'unet', 'model.onnx'));
}

function partWeights(
  dir: string,
  part: keyof typeof PARTS,
  options: SafetensorsOptions,
  rename: (name: string) => string,
): MappedWeights {
  const [folder, candidates] = PARTS[part];
  const path = candidates.map((c) => join(dir, folder, c)).find((p) => existsSync(p));
  if (path === undefined) {
    const pickle = ['diffusion_pytorch_model.bin', 'pytorch_model.bin']
      .map((c) => join(dir, folder, c))
      .find((p) => existsSync(p));
    if (pickle) {
      const message = `${pickle} is a PyTorch pickle; loading one runs code from the file, so dreamcord refuses it.`;
      throw new CheckpointError('PICKLE_REFUSED', pickle, `${message} Save the model with safetensors weights.`);
    }
    throw new CheckpointError('NOT_FOUND', join(dir, folder), `${join(dir, folder)} has no ${candidates[0]}`);
  }
  const file = SafetensorsFile.open(path, options);
  const refs = new Map<string, TensorRef>();
  for (const key of file.names()) {
    const name = rename(key);
    if (name.endsWith('position_ids')) continue;
    const squeeze = part === 'vae' && isVaeAttentionProjection(name);
    refs.set(name, squeeze ? { file, key, squeeze } : { file, key });
  }
  return new MappedWeights(refs);
}

function readConfig(dir: string, folder: string): Record<string, unknown> {
  return readJson(join(dir, folder, 'config.json'));
}

function readJson(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new CheckpointError('NOT_FOUND', file, `${file} is missing`);
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch (error) {
    throw new CheckpointError('BAD_HEADER', file, `${file} is not valid JSON`, { cause: error });
  }
  throw new CheckpointError('BAD_HEADER', file, `${file} is not a JSON object`);
}

function num(config: Record<string, unknown>, key: string, fallback: number): number {
  const value = config[key];
  return typeof value === 'number' ? value : fallback;
}

function perLevel(value: unknown, levels: number, fallback: number): number[] {
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'number' ? v : fallback));
  return Array.from({ length: levels }, () => (typeof value === 'number' ? value : fallback));
}

function numbers(config: Record<string, unknown>, key: string): number[] {
  const value = config[key];
  return Array.isArray(value) ? value.filter((v): v is number => typeof v === 'number') : [];
}

function unetFromConfig(c: Record<string, unknown>, dir: string): UNetConfig {
  const addition = c.addition_embed_type;
  if (addition !== undefined && addition !== null && addition !== 'text_time') {
    const message = `${dir}: a UNet with addition_embed_type ${JSON.stringify(addition)} matches no family dreamcord converts`;
    throw new CheckpointError('UNSUPPORTED_FAMILY', dir, message);
  }
  const blockOutChannels = numbers(c, 'block_out_channels');
  const levels = blockOutChannels.length;
  const types = (key: string): string[] => (Array.isArray(c[key]) ? (c[key] as unknown[]).map(String) : []);
  // diffusers' quirk: SD 1.x's `attention_head_dim` (8) is the head count; `num_attention_heads` wins when set.
  const heads = c.num_attention_heads ?? c.attention_head_dim;
  const sd1 = familyById('sd1');
  return {
    inChannels: num(c, 'in_channels', 4),
    outChannels: num(c, 'out_channels', 4),
    blockOutChannels,
    layersPerBlock: num(c, 'layers_per_block', 2),
    downBlockTypes: types('down_block_types') as DownBlockType[],
    upBlockTypes: types('up_block_types') as UpBlockType[],
    crossAttentionDim: num(c, 'cross_attention_dim', 768),
    attentionHeads: perLevel(heads, levels, 8),
    transformerLayersPerBlock: perLevel(c.transformer_layers_per_block, levels, 1),
    useLinearProjection: c.use_linear_projection === true,
    normNumGroups: num(c, 'norm_num_groups', sd1.normNumGroups),
    normEps: num(c, 'norm_eps', 1e-5),
    upcastAttention: c.upcast_attention === true,
    ...(addition === 'text_time' ? { addTimeEmbedDim: num(c, 'addition_time_embed_dim', 256) } : {}),
  };
}

function vaeFromConfig(c: Record<string, unknown>): VaeConfig {
  return {
    inChannels: num(c, 'in_channels', 3),
    outChannels: num(c, 'out_channels', 3),
    latentChannels: num(c, 'latent_channels', 4),
    blockOutChannels: numbers(c, 'block_out_channels'),
    layersPerBlock: num(c, 'layers_per_block', 2),
    normNumGroups: num(c, 'norm_num_groups', 32),
    scalingFactor: num(c, 'scaling_factor', 0.18215),
  };
}

/** @param projected - the encoder is a `CLIPTextModelWithProjection` (SDXL's second). */
function textFromConfig(c: Record<string, unknown>, projected = false): TextEncoderConfig {
  return {
    vocabSize: num(c, 'vocab_size', 49408),
    hiddenSize: num(c, 'hidden_size', 768),
    intermediateSize: num(c, 'intermediate_size', 3072),
    numLayers: num(c, 'num_hidden_layers', 12),
    numHeads: num(c, 'num_attention_heads', 12),
    maxPositions: num(c, 'max_position_embeddings', 77),
    hiddenAct: c.hidden_act === 'gelu' ? 'gelu' : 'quick_gelu',
    layerNormEps: num(c, 'layer_norm_eps', 1e-5),
    ...(projected ? { projectionDim: num(c, 'projection_dim', 1280) } : {}),
  };
}
