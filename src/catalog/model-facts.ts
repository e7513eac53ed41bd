import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint, type FamilyRow } from '../checkpoint/index.js';
import { MODEL_FAMILIES, type FamilyFacts, type ModelFamily, type SchedulerConfig } from '../pipeline/index.js';
import type { CatalogModel, Sidecar } from './catalog.js';

/**
 * What the bot needs of a model before loading it — to build a request for it (its native size, aspect buckets and
 * clip skip) and to count the request's model calls (its scheduler config) — read from headers and small JSON
 * files only, so a catalog of many models is described in milliseconds and each loads on first use.
 */
export interface DescribedModel {
  readonly family: ModelFamily;
  readonly nativeSize: number;
  readonly sizeBuckets: FamilyFacts['sizeBuckets'];
  /** The largest clip skip the loaded model will offer (dreamcord's conversions: every text encoder layer). */
  readonly maxClipSkip: number;
  readonly schedulerConfig: SchedulerConfig;
  /** A 9-channel inpainting UNet: it only repaints, so it is no model for `/imagine`. */
  readonly inpainting: boolean;
}

/** The pipeline's family for a checkpoint family row (the inpainting variants draw at their base's size). */
const PIPELINE_FAMILY: Readonly<Record<FamilyRow['id'], ModelFamily>> = {
  sd1: 'sd1',
  'sd1-inpaint': 'sd1',
  sd2: 'sd2',
  'sd2-inpaint': 'sd2',
  sdxl: 'sdxl',
};

/**
 * The facts of a catalog model: a checkpoint's from its safetensors header (or its diffusers folder's configs), as
 * dreamcord will convert it; an ONNX folder's from its `model_index.json` and scheduler config. An ONNX export made
 * by another tool is taken to offer clip skip 1 (its text encoder has no earlier layers as outputs) and, with one
 * text encoder, to be SD 1.x unless its scheduler predicts v (SD 2.x 768-v). A sidecar's `prediction` and
 * `zeroTerminalSnr` are laid over the scheduler config (see {@link schedulerOverridesOf}).
 * @throws CheckpointError for a checkpoint that cannot be used (the same errors as a conversion would give).
 */
export function describeModel(model: Pick<CatalogModel, 'path' | 'form'> & { readonly sidecar?: Sidecar | undefined }): DescribedModel {
  const overrides = schedulerOverridesOf(model.sidecar);
  if (model.form === 'onnx') return onnxFolderFacts(model.path, overrides);
  const opened = openCheckpoint(model.path);
  const { textEncoder, textEncoder2, unet } = opened.components;
  const layers = Math.min(textEncoder.config.numLayers, textEncoder2?.config.numLayers ?? Infinity);
  return factsOf(PIPELINE_FAMILY[opened.family.id], { ...opened.schedulerConfig, ...overrides }, layers, unet.config.inChannels === 9);
}

/**
 * What a sidecar says that a model's files do not, as scheduler config keys laid over the model's own when it is
 * described and loaded: `prediction` (`v` → `prediction_type: v_prediction`) and `zeroTerminalSnr`
 * (`rescale_betas_zero_snr`). Both sampling modes read them (diffusers' schedulers, A1111's denoisers).
 */
export function schedulerOverridesOf(sidecar: Sidecar | undefined): SchedulerConfig {
  return {
    ...(sidecar?.prediction === undefined ? {} : { prediction_type: sidecar.prediction === 'v' ? 'v_prediction' : 'epsilon' }),
    ...(sidecar?.zeroTerminalSnr === undefined ? {} : { rescale_betas_zero_snr: sidecar.zeroTerminalSnr }),
  };
}

function onnxFolderFacts(dir: string, overrides: SchedulerConfig): DescribedModel {
  const own = readJson(join(dir, 'scheduler', 'scheduler_config.json'));
  const sdxl = existsSync(join(dir, 'text_encoder_2'));
  // The family by the folder's own config: a sidecar's v on an SD 1.x export does not make it SD 2.x.
  const family: ModelFamily = sdxl ? 'sdxl' : own['prediction_type'] === 'v_prediction' ? 'sd2' : 'sd1';
  const unetConfig = join(dir, 'unet', 'config.json');
  const inpainting = existsSync(unetConfig) && readJson(unetConfig)['in_channels'] === 9;
  return factsOf(family, { ...own, ...overrides }, 1, inpainting);
}

function factsOf(family: ModelFamily, schedulerConfig: SchedulerConfig, maxClipSkip: number, inpainting: boolean): DescribedModel {
  const facts = MODEL_FAMILIES[family];
  const vPrediction = schedulerConfig['prediction_type'] === 'v_prediction';
  return {
    family,
    nativeSize: vPrediction ? facts.vPredictionNativeSize : facts.nativeSize,
    sizeBuckets: facts.sizeBuckets,
    maxClipSkip,
    schedulerConfig,
    inpainting,
  };
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}
