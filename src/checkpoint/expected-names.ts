import { basename } from 'node:path';
import type { TextEncoderConfig, UNetConfig, VaeConfig, WeightSource } from './components.js';
import { CheckpointError } from './errors.js';

/**
 * Every tensor name a component of the given config must have (reference names), so a partial file is reported
 * as a list of what is missing before any graph is written.
 */

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const wb = (prefix: string): string[] => [`${prefix}.weight`, `${prefix}.bias`];

function resnet(prefix: string, inChannels: number, outChannels: number, timeEmbedding: boolean): string[] {
  return [
    ...wb(`${prefix}.norm1`),
    ...wb(`${prefix}.conv1`),
    ...(timeEmbedding ? wb(`${prefix}.time_emb_proj`) : []),
    ...wb(`${prefix}.norm2`),
    ...wb(`${prefix}.conv2`),
    ...(inChannels !== outChannels ? wb(`${prefix}.conv_shortcut`) : []),
  ];
}

function transformer(prefix: string, layers: number): string[] {
  const block = (b: string): string[] => [
    ...['norm1', 'norm2', 'norm3'].flatMap((n) => wb(`${b}.${n}`)),
    ...['attn1', 'attn2'].flatMap((a) => [
      `${b}.${a}.to_q.weight`,
      `${b}.${a}.to_k.weight`,
      `${b}.${a}.to_v.weight`,
      ...wb(`${b}.${a}.to_out.0`),
    ]),
    ...wb(`${b}.ff.net.0.proj`),
    ...wb(`${b}.ff.net.2`),
  ];
  return [
    ...wb(`${prefix}.norm`),
    ...wb(`${prefix}.proj_in`),
    ...wb(`${prefix}.proj_out`),
    ...range(layers).flatMap((t) => block(`${prefix}.transformer_blocks.${t}`)),
  ];
}

export function unetNames(config: UNetConfig): string[] {
  const channels = config.blockOutChannels;
  const levels = channels.length;
  const last = channels[levels - 1] ?? 0;
  const layers = (l: number): number => config.transformerLayersPerBlock[l] ?? 1;
  const names = [...wb('conv_in'), ...wb('time_embedding.linear_1'), ...wb('time_embedding.linear_2')];
  if (config.addTimeEmbedDim !== undefined) names.push(...wb('add_embedding.linear_1'), ...wb('add_embedding.linear_2'));
  for (const l of range(levels)) {
    const out = channels[l] ?? 0;
    for (const j of range(config.layersPerBlock)) {
      const input = j > 0 ? out : (channels[l - 1] ?? channels[0] ?? 0);
      names.push(...resnet(`down_blocks.${l}.resnets.${j}`, input, out, true));
      if (config.downBlockTypes[l] === 'CrossAttnDownBlock2D') {
        names.push(...transformer(`down_blocks.${l}.attentions.${j}`, layers(l)));
      }
    }
    if (l < levels - 1) names.push(...wb(`down_blocks.${l}.downsamplers.0.conv`));
  }
  names.push(...resnet('mid_block.resnets.0', last, last, true), ...resnet('mid_block.resnets.1', last, last, true));
  names.push(...transformer('mid_block.attentions.0', layers(levels - 1)));
  for (const l of range(levels)) {
    for (const j of range(config.layersPerBlock + 1)) {
      // Up-block resnets take the skip connection concatenated to their input: they always change width.
      names.push(...resnet(`up_blocks.${l}.resnets.${j}`, -1, 0, true));
      if (config.upBlockTypes[l] === 'CrossAttnUpBlock2D') {
        names.push(...transformer(`up_blocks.${l}.attentions.${j}`, layers(levels - 1 - l)));
      }
    }
    if (l < levels - 1) names.push(...wb(`up_blocks.${l}.upsamplers.0.conv`));
  }
  names.push(...wb('conv_norm_out'), ...wb('conv_out'));
  return names;
}

function vaeAttention(prefix: string): string[] {
  return ['group_norm', 'to_q', 'to_k', 'to_v', 'to_out.0'].flatMap((p) => wb(`${prefix}.${p}`));
}

function vaeMid(coder: string, width: number): string[] {
  return [
    ...resnet(`${coder}.mid_block.resnets.0`, width, width, false),
    ...vaeAttention(`${coder}.mid_block.attentions.0`),
    ...resnet(`${coder}.mid_block.resnets.1`, width, width, false),
  ];
}

export function vaeNames(config: VaeConfig): string[] {
  const channels = config.blockOutChannels;
  const levels = channels.length;
  const last = channels[levels - 1] ?? 0;
  const names = [...wb('encoder.conv_in')];
  for (const l of range(levels)) {
    const out = channels[l] ?? 0;
    for (const j of range(config.layersPerBlock)) {
      const input = j > 0 ? out : (channels[l - 1] ?? channels[0] ?? 0);
      names.push(...resnet(`encoder.down_blocks.${l}.resnets.${j}`, input, out, false));
    }
    if (l < levels - 1) names.push(...wb(`encoder.down_blocks.${l}.downsamplers.0.conv`));
  }
  names.push(...vaeMid('encoder', last), ...wb('encoder.conv_norm_out'), ...wb('encoder.conv_out'));
  names.push(...wb('quant_conv'), ...wb('post_quant_conv'), ...wb('decoder.conv_in'), ...vaeMid('decoder', last));
  const reversed = [...channels].reverse();
  for (const l of range(levels)) {
    const out = reversed[l] ?? 0;
    for (const j of range(config.layersPerBlock + 1)) {
      const input = j > 0 ? out : (reversed[l - 1] ?? reversed[0] ?? 0);
      names.push(...resnet(`decoder.up_blocks.${l}.resnets.${j}`, input, out, false));
    }
    if (l < levels - 1) names.push(...wb(`decoder.up_blocks.${l}.upsamplers.0.conv`));
  }
  names.push(...wb('decoder.conv_norm_out'), ...wb('decoder.conv_out'));
  return names;
}

export function textEncoderNames(config: TextEncoderConfig): string[] {
  const layer = (i: number): string[] => {
    const p = `text_model.encoder.layers.${i}`;
    return [
      ...wb(`${p}.layer_norm1`),
      ...['q_proj', 'k_proj', 'v_proj', 'out_proj'].flatMap((proj) => wb(`${p}.self_attn.${proj}`)),
      ...wb(`${p}.layer_norm2`),
      ...wb(`${p}.mlp.fc1`),
      ...wb(`${p}.mlp.fc2`),
    ];
  };
  return [
    'text_model.embeddings.token_embedding.weight',
    'text_model.embeddings.position_embedding.weight',
    ...range(config.numLayers).flatMap(layer),
    ...wb('text_model.final_layer_norm'),
    ...(config.projectionDim !== undefined ? ['text_projection.weight'] : []),
  ];
}

/** How many missing names an error lists (the count says how many there are in all). */
const SHOWN_MISSING = 5;

/**
 * @throws CheckpointError `INCOMPLETE` naming the first few of `expected` that `weights` lacks, and their count.
 */
export function requireNames(path: string, part: string, weights: WeightSource, expected: readonly string[]): void {
  const missing = expected.filter((n) => !weights.has(n));
  if (missing.length === 0) return;
  const shown = missing.slice(0, SHOWN_MISSING);
  throw new CheckpointError(
    'INCOMPLETE',
    path,
    `${basename(path)} is incomplete: ${part} keys missing: ${shown.join(', ')}, ${shown.length} of ${missing.length} ` +
      'shown (reference names; a partial download or a pruned file?)',
  );
}
