import { basename } from 'node:path';
import type { CheckpointComponents, ComponentSource, TextEncoderConfig } from './components.js';
import { deriveTextEncoderConfig, deriveUNetConfig, deriveVaeConfig } from './derive-config.js';
import { CheckpointError } from './errors.js';
import { requireNames, textEncoderNames, unetNames, vaeNames } from './expected-names.js';
import { findFamily, type FamilyRow, type TextEncoderRow } from './families.js';
import { clipName, ldmUnetName, ldmVaeName, openClipNames, type RenamedSlice } from './ldm-names.js';
import { isVaeAttentionProjection, MappedWeights, type TensorRef } from './mapped-weights.js';
import type { SafetensorsFile } from './safetensors.js';

const UNET_PREFIX = 'model.diffusion_model.';
const VAE_PREFIX = 'first_stage_model.';
/** SDXL's (sgm's) text conditioners; the base has a CLIP `embedders.0.transformer` and an OpenCLIP `embedders.1.model`. */
const SDXL_CONDITIONER = 'conditioner.embedders.';
const SDXL_SECOND_ENCODER = 'conditioner.embedders.1.model.transformer.resblocks.';
/** The keys of {@link markedSampling}. */
const V_PREDICTION_MARKER = 'v_pred';
const ZERO_TERMINAL_SNR_MARKER = 'ztsnr';

/**
 * The components of an AUTOMATIC1111 / LDM single-file checkpoint, under reference names, with configs derived
 * from the family table and the tensors' shapes.
 * @throws CheckpointError `NOT_A_CHECKPOINT` (a LoRA, an embedding, a lone VAE), `UNSUPPORTED_FAMILY` (the SDXL
 *   refiner, SDXL inpainting, …), `INCOMPLETE` (keys missing: the first few are named, with the count).
 */
export function singleFileComponents(file: SafetensorsFile): CheckpointComponents {
  const names = file.names();
  refuseNonCheckpoints(file, names);
  const family = detectFamily(file, names);
  const layers = layersPerBlock(names);
  const unetWeights = mapWeights(file, UNET_PREFIX, (key) => single(ldmUnetName(key, layers)));
  const upLevels = decoderLevels(names);
  const vaeWeights = mapWeights(file, VAE_PREFIX, (key) => single(ldmVaeName(key, upLevels)));
  const textEncoder = textEncoderOf(file, family.textEncoder, 'text encoder');
  const textEncoder2 = family.textEncoder2 && textEncoderOf(file, family.textEncoder2, 'second text encoder');
  const pooledWidth = textEncoder2?.config.projectionDim ?? 0;
  const unet = { config: deriveUNetConfig(unetWeights, family, pooledWidth), weights: unetWeights };
  const vae = { config: deriveVaeConfig(vaeWeights, family), weights: vaeWeights };
  requireNames(file.path, 'UNet', unetWeights, unetNames(unet.config));
  requireNames(file.path, 'VAE', vaeWeights, vaeNames(vae.config));
  return { family: family.id, textEncoder, ...(textEncoder2 ? { textEncoder2 } : {}), unet, vae };
}

/**
 * What a single file says of how its model samples, beyond its family's scheduler: the empty marker tensors that
 * fine-tune trainers add and AUTOMATIC1111 reads (its PRs #16567 and #16569, after v1.10.1; ComfyUI reads them
 * alike), as scheduler config keys. `v_pred` on an SDXL model: v-prediction (`sd_models_config.py` picks the
 * `sd_xl_v.yaml` config); `ztsnr` on any model: zero terminal SNR (`sd_models.load_model_weights` sets
 * `model.ztsnr`, and `apply_alpha_schedule_override` rescales ᾱ).
 */
export function markedSampling(file: SafetensorsFile, family: Pick<FamilyRow, 'id'>): Readonly<Record<string, unknown>> {
  return {
    ...(family.id === 'sdxl' && file.has(V_PREDICTION_MARKER) ? { prediction_type: 'v_prediction' } : {}),
    ...(file.has(ZERO_TERMINAL_SNR_MARKER) ? { rescale_betas_zero_snr: true } : {}),
  };
}

/** The text encoder `row` describes, under transformers' names, checked complete. */
function textEncoderOf(file: SafetensorsFile, row: TextEncoderRow, part: string): ComponentSource<TextEncoderConfig> {
  const weights = mapWeights(file, row.prefix, (key) => (row.layout === 'clip' ? single(clipName(key)) : openClipNames(key)));
  const config = deriveTextEncoderConfig(weights, row);
  requireNames(file.path, part, weights, textEncoderNames(config));
  return { config, weights };
}

const single = (name: string | undefined): RenamedSlice[] => (name === undefined ? [] : [{ name }]);

function mapWeights(file: SafetensorsFile, prefix: string, rename: (key: string) => RenamedSlice[]): MappedWeights {
  const refs = new Map<string, TensorRef>();
  for (const key of file.names()) {
    if (!key.startsWith(prefix)) continue;
    for (const { name, third, transpose } of rename(key.slice(prefix.length))) {
      const squeeze = prefix === VAE_PREFIX && isVaeAttentionProjection(name);
      refs.set(name, {
        file,
        key,
        ...(third === undefined ? {} : { third }),
        ...(squeeze ? { squeeze } : {}),
        ...(transpose ? { transpose } : {}),
      });
    }
  }
  return new MappedWeights(refs);
}

/** Layers per UNet level: the first downsampler (`input_blocks.N.0.op`) sits at N = layers + 1. */
function layersPerBlock(names: readonly string[]): number {
  const blocks = names.map((n) => /^model\.diffusion_model\.input_blocks\.(\d+)\.0\.(op\.)?/.exec(n)).filter((m) => m !== null);
  const downsamplers = blocks.filter((m) => m[2] !== undefined).map((m) => Number(m[1]));
  if (downsamplers.length > 0) return Math.min(...downsamplers) - 1;
  // One level only: no downsampler, every input block after conv_in is a layer.
  return Math.max(0, ...blocks.map((m) => Number(m[1])));
}

function decoderLevels(names: readonly string[]): number {
  const levels = new Set(names.map((n) => /^first_stage_model\.decoder\.up\.(\d+)\./.exec(n)?.[1]).filter((i) => i !== undefined));
  return levels.size;
}

function refuseNonCheckpoints(file: SafetensorsFile, names: readonly string[]): void {
  const name = basename(file.path);
  const notA = (what: string, hint: string): CheckpointError =>
    new CheckpointError('NOT_A_CHECKPOINT', file.path, `${name} looks like ${what}, not a checkpoint. ${hint}`);
  if (names.some((n) => /lora_(down|up|A|B)\.weight$|^lora_(unet|te\d?)_|\.hada_w1_a$|\.lokr_w1$/.test(n))) {
    throw notA('a LoRA', 'Use a full Stable Diffusion model (usually 2–7 GB) as the model; LoRAs are applied to one.');
  }
  if (names.length <= 4 && names.some((n) => ['emb_params', 'string_to_param', 'clip_l', 'clip_g'].includes(n))) {
    throw notA('a textual-inversion embedding', 'Use a full Stable Diffusion model as the model.');
  }
  if (names.some((n) => n.startsWith(SDXL_CONDITIONER)) && !names.some((n) => n.startsWith(SDXL_SECOND_ENCODER))) {
    throw new CheckpointError(
      'UNSUPPORTED_FAMILY',
      file.path,
      `${name} is an SDXL refiner (it has only the OpenCLIP text encoder): it refines another model's pictures and ` +
        'cannot draw on its own. Use an SDXL base model (or a fine-tune of it).',
    );
  }
  const hasUnet = names.some((n) => n.startsWith(UNET_PREFIX));
  if (!hasUnet && names.some((n) => /^(encoder|decoder)\.|^first_stage_model\./.test(n))) {
    throw notA('a standalone VAE', 'Use a full Stable Diffusion model as the model.');
  }
  if (!hasUnet) {
    throw notA(
      'something else',
      `It has no UNet (${UNET_PREFIX}*) keys; its first keys are ${names.slice(0, 3).join(', ') || '(none)'}.`,
    );
  }
}

function detectFamily(file: SafetensorsFile, names: readonly string[]): FamilyRow {
  const layout = names.some((n) => n.startsWith('cond_stage_model.model.')) ? 'openclip' : 'clip';
  const sdxl = names.some((n) => n.startsWith(SDXL_SECOND_ENCODER));
  const convIn = `${UNET_PREFIX}input_blocks.0.0.weight`;
  // Without conv_in, look for the plain family so that the missing keys get listed.
  const inChannels = file.has(convIn) ? (file.info(convIn).shape[1] ?? 0) : 4;
  const family = findFamily(layout, inChannels, sdxl);
  if (!family && sdxl) {
    throw new CheckpointError(
      'UNSUPPORTED_FAMILY',
      file.path,
      `${basename(file.path)} is an SDXL model whose UNet takes ${inChannels} input channels (SDXL inpainting or ` +
        'another variant); dreamcord converts the SDXL base layout (4 channels) and its fine-tunes',
    );
  }
  if (!family) {
    throw new CheckpointError(
      'UNSUPPORTED_FAMILY',
      file.path,
      `${basename(file.path)}: a UNet with ${inChannels} input channels and a ${layout === 'clip' ? 'CLIP' : 'OpenCLIP'} ` +
        'text encoder matches no family dreamcord converts (SD 1.x and 2.x, 4 or 9 input channels)',
    );
  }
  return family;
}
