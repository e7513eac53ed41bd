import type {
  DownBlockType,
  TextEncoderConfig,
  UNetConfig,
  UpBlockType,
  VaeConfig,
  WeightSource,
} from './components.js';
import { headWidth, normGroups, type FamilyRow, type TextEncoderRow } from './families.js';

/**
 * Component configs of a single-file checkpoint, read off its tensors' names and shapes (under the reference
 * names) plus what the family table says. A diffusers folder carries these in its `config.json` files instead.
 */

/** How many distinct `N` follow `prefix` in the names (`down_blocks.` → the level count). */
export function countIndices(weights: WeightSource, prefix: string): number {
  const seen = new Set<string>();
  for (const name of weights.names()) {
    if (!name.startsWith(prefix)) continue;
    const index = name.slice(prefix.length).split('.', 1)[0];
    if (index !== undefined && /^\d+$/.test(index)) seen.add(index);
  }
  return seen.size;
}

/** A dimension of `name`; 0 when it is absent, so a partial file still gets a config and then a list of what is missing. */
function dim(weights: WeightSource, name: string, axis: number): number {
  return weights.has(name) ? (weights.shape(name)[axis] ?? 0) : 0;
}

function hasPrefix(weights: WeightSource, prefix: string): boolean {
  return weights.names().some((n) => n.startsWith(prefix));
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** SDXL's time ids: original size (h, w), crop top-left (y, x), target size (h, w). */
const TIME_IDS = 6;

/**
 * @param pooledWidth - the width of the pooled text embedding SDXL's UNet also takes (its second encoder's
 *   projection); with it, `add_embedding` takes that plus six time-id embeddings, which gives their width.
 */
export function deriveUNetConfig(weights: WeightSource, family: FamilyRow, pooledWidth = 0): UNetConfig {
  const levels = countIndices(weights, 'down_blocks.');
  const blockOutChannels = range(levels).map((l) => dim(weights, `down_blocks.${l}.resnets.0.conv1.weight`, 0));
  const attended = range(levels).map((l) => hasPrefix(weights, `down_blocks.${l}.attentions.0.`));
  const firstAttention = attended.indexOf(true);
  const attentionPrefix = firstAttention >= 0 ? `down_blocks.${firstAttention}.attentions.0.` : 'mid_block.attentions.0.';
  const heads = family.unet.heads;
  // The narrow test models' heads are as wide as their first level's half (8); real models' the published width.
  const width = 'width' in heads ? headWidth(heads.width, blockOutChannels[0] ?? 0) : 0;
  const addedInput = dim(weights, 'add_embedding.linear_1.weight', 1);
  return {
    inChannels: dim(weights, 'conv_in.weight', 1),
    outChannels: dim(weights, 'conv_out.weight', 0),
    blockOutChannels,
    layersPerBlock: countIndices(weights, 'down_blocks.0.resnets.'),
    downBlockTypes: attended.map((a): DownBlockType => (a ? 'CrossAttnDownBlock2D' : 'DownBlock2D')),
    upBlockTypes: range(levels).map(
      (l): UpBlockType => (hasPrefix(weights, `up_blocks.${l}.attentions.0.`) ? 'CrossAttnUpBlock2D' : 'UpBlock2D'),
    ),
    crossAttentionDim: dim(weights, `${attentionPrefix}transformer_blocks.0.attn2.to_k.weight`, 1),
    attentionHeads: blockOutChannels.map((c) => ('count' in heads ? heads.count : c / width)),
    transformerLayersPerBlock: range(levels).map((l) =>
      attended[l] ? countIndices(weights, `down_blocks.${l}.attentions.0.transformer_blocks.`) : 1,
    ),
    useLinearProjection: weights.has(`${attentionPrefix}proj_in.weight`) && weights.shape(`${attentionPrefix}proj_in.weight`).length === 2,
    normNumGroups: normGroups(family.normNumGroups, blockOutChannels),
    normEps: 1e-5,
    upcastAttention: family.unet.upcastAttention,
    ...(addedInput > 0 ? { addTimeEmbedDim: (addedInput - pooledWidth) / TIME_IDS } : {}),
  };
}

export function deriveVaeConfig(weights: WeightSource, family: FamilyRow): VaeConfig {
  const levels = countIndices(weights, 'encoder.down_blocks.');
  const blockOutChannels = range(levels).map((l) => dim(weights, `encoder.down_blocks.${l}.resnets.0.conv2.weight`, 0));
  return {
    inChannels: dim(weights, 'encoder.conv_in.weight', 1),
    outChannels: dim(weights, 'decoder.conv_out.weight', 0),
    latentChannels: dim(weights, 'post_quant_conv.weight', 0),
    blockOutChannels,
    layersPerBlock: countIndices(weights, 'encoder.down_blocks.0.resnets.'),
    normNumGroups: normGroups(family.normNumGroups, blockOutChannels),
    scalingFactor: family.vaeScalingFactor,
  };
}

export function deriveTextEncoderConfig(weights: WeightSource, text: TextEncoderRow): TextEncoderConfig {
  const hiddenSize = dim(weights, 'text_model.embeddings.token_embedding.weight', 1);
  return {
    vocabSize: dim(weights, 'text_model.embeddings.token_embedding.weight', 0),
    hiddenSize,
    intermediateSize: dim(weights, 'text_model.encoder.layers.0.mlp.fc1.weight', 0),
    numLayers: countIndices(weights, 'text_model.encoder.layers.') - text.droppedLayers,
    numHeads: hiddenSize / headWidth(text.headDim, hiddenSize),
    maxPositions: dim(weights, 'text_model.embeddings.position_embedding.weight', 0),
    hiddenAct: text.hiddenAct,
    layerNormEps: 1e-5,
    ...(text.projection ? { projectionDim: dim(weights, 'text_projection.weight', 0) } : {}),
  };
}
