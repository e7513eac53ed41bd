/**
 * AUTOMATIC1111 / LDM single-file names → the diffusers and transformers names the graph writers use (the
 * mapping of diffusers' `loaders/single_file_utils.py`, written as renaming rules). Each function takes a key with
 * its component prefix removed and returns the reference name, or undefined for a key the converter ignores.
 */

/** UNet resnet parts: LDM `ResBlock` → diffusers `ResnetBlock2D`. */
const RESNET_PARTS: readonly [RegExp, string][] = [
  [/^in_layers\.0\./, 'norm1.'],
  [/^in_layers\.2\./, 'conv1.'],
  [/^out_layers\.0\./, 'norm2.'],
  [/^out_layers\.3\./, 'conv2.'],
  [/^emb_layers\.1\./, 'time_emb_proj.'],
  [/^skip_connection\./, 'conv_shortcut.'],
];

function renameParts(rest: string, parts: readonly [RegExp, string][]): string | undefined {
  for (const [pattern, replacement] of parts) if (pattern.test(rest)) return rest.replace(pattern, replacement);
  return undefined;
}

function unetResnet(prefix: string, rest: string): string | undefined {
  const part = renameParts(rest, RESNET_PARTS);
  return part === undefined ? undefined : `${prefix}.${part}`;
}

/** The UNet layout's one free parameter: layers per level (SD 1.x/2.x: 2; the tiny fixtures: 1). */
export function ldmUnetName(key: string, layersPerBlock: number): string | undefined {
  const slots = layersPerBlock + 1;
  let m: RegExpExecArray | null;
  if ((m = /^time_embed\.([02])\.(.+)$/.exec(key))) return `time_embedding.linear_${m[1] === '0' ? 1 : 2}.${m[2]}`;
  // SDXL's size and crop conditioning (diffusers' `add_embedding`, a TimestepEmbedding like `time_embed`).
  if ((m = /^label_emb\.0\.([02])\.(.+)$/.exec(key))) return `add_embedding.linear_${m[1] === '0' ? 1 : 2}.${m[2]}`;
  if ((m = /^input_blocks\.0\.0\.(.+)$/.exec(key))) return `conv_in.${m[1]}`;
  if ((m = /^out\.([02])\.(.+)$/.exec(key))) return `${m[1] === '0' ? 'conv_norm_out' : 'conv_out'}.${m[2]}`;
  if ((m = /^input_blocks\.(\d+)\.([01])\.(.+)$/.exec(key))) {
    const index = Number(m[1]) - 1;
    const level = Math.floor(index / slots);
    const slot = index % slots;
    const rest = m[3] ?? '';
    if (slot === layersPerBlock) {
      return rest.startsWith('op.') ? `down_blocks.${level}.downsamplers.0.conv.${rest.slice(3)}` : undefined;
    }
    return m[2] === '0'
      ? unetResnet(`down_blocks.${level}.resnets.${slot}`, rest)
      : `down_blocks.${level}.attentions.${slot}.${rest}`;
  }
  if ((m = /^middle_block\.([012])\.(.+)$/.exec(key))) {
    const rest = m[2] ?? '';
    if (m[1] === '1') return `mid_block.attentions.0.${rest}`;
    return unetResnet(`mid_block.resnets.${m[1] === '0' ? 0 : 1}`, rest);
  }
  if ((m = /^output_blocks\.(\d+)\.([012])\.(.+)$/.exec(key))) {
    const index = Number(m[1]);
    const level = Math.floor(index / slots);
    const layer = index % slots;
    const rest = m[3] ?? '';
    if (m[2] === '0') return unetResnet(`up_blocks.${level}.resnets.${layer}`, rest);
    // `.1` is the attention, or the upsampler in a level without attention; `.2` always the upsampler.
    if (rest.startsWith('conv.')) return `up_blocks.${level}.upsamplers.0.conv.${rest.slice(5)}`;
    return m[2] === '1' ? `up_blocks.${level}.attentions.${layer}.${rest}` : undefined;
  }
  return undefined;
}

/** VAE attention parts (`mid.attn_1`): 1×1 convolutions in LDM, Linear layers in diffusers. */
const VAE_ATTENTION_PARTS: readonly [RegExp, string][] = [
  [/^norm\./, 'group_norm.'],
  [/^q\./, 'to_q.'],
  [/^k\./, 'to_k.'],
  [/^v\./, 'to_v.'],
  [/^proj_out\./, 'to_out.0.'],
];

function vaeResnet(prefix: string, rest: string): string {
  return `${prefix}.${rest.replace(/^nin_shortcut\./, 'conv_shortcut.')}`;
}

/** `upLevels`: the decoder's level count; LDM numbers them from the bottom, diffusers from the top. */
export function ldmVaeName(key: string, upLevels: number): string | undefined {
  let m: RegExpExecArray | null;
  if (/^(post_)?quant_conv\./.test(key)) return key;
  if ((m = /^(encoder|decoder)\.(.+)$/.exec(key)) === null) return undefined;
  const coder = m[1] ?? '';
  const rest = m[2] ?? '';
  if ((m = /^(conv_in|conv_out)\.(.+)$/.exec(rest))) return `${coder}.${rest}`;
  if ((m = /^norm_out\.(.+)$/.exec(rest))) return `${coder}.conv_norm_out.${m[1]}`;
  if ((m = /^mid\.block_([12])\.(.+)$/.exec(rest))) {
    return vaeResnet(`${coder}.mid_block.resnets.${Number(m[1]) - 1}`, m[2] ?? '');
  }
  if ((m = /^mid\.attn_1\.(.+)$/.exec(rest))) {
    const part = renameParts(m[1] ?? '', VAE_ATTENTION_PARTS);
    return part === undefined ? undefined : `${coder}.mid_block.attentions.0.${part}`;
  }
  if ((m = /^down\.(\d+)\.block\.(\d+)\.(.+)$/.exec(rest))) {
    return vaeResnet(`${coder}.down_blocks.${m[1]}.resnets.${m[2]}`, m[3] ?? '');
  }
  if ((m = /^down\.(\d+)\.downsample\.conv\.(.+)$/.exec(rest))) return `${coder}.down_blocks.${m[1]}.downsamplers.0.conv.${m[2]}`;
  if ((m = /^up\.(\d+)\.block\.(\d+)\.(.+)$/.exec(rest))) {
    return vaeResnet(`${coder}.up_blocks.${upLevels - 1 - Number(m[1])}.resnets.${m[2]}`, m[3] ?? '');
  }
  if ((m = /^up\.(\d+)\.upsample\.conv\.(.+)$/.exec(rest))) {
    return `${coder}.up_blocks.${upLevels - 1 - Number(m[1])}.upsamplers.0.conv.${m[2]}`;
  }
  return undefined;
}

/** Old diffusers VAE folders (before 0.14) still name the attention `query`/`key`/`value`/`proj_attn`. */
export function legacyDiffusersVaeName(key: string): string {
  return key
    .replace(/\.attentions\.0\.query\./, '.attentions.0.to_q.')
    .replace(/\.attentions\.0\.key\./, '.attentions.0.to_k.')
    .replace(/\.attentions\.0\.value\./, '.attentions.0.to_v.')
    .replace(/\.attentions\.0\.proj_attn\./, '.attentions.0.to_out.0.');
}

/** transformers' CLIP names already (SD 1.x `cond_stage_model.transformer.`); `position_ids` is a buffer, not a weight. */
export function clipName(key: string): string | undefined {
  return key.startsWith('text_model.') && !key.endsWith('position_ids') ? key : undefined;
}

/**
 * A name, and for OpenCLIP's packed q/k/v projection, which third of the rows it takes; `transpose` for OpenCLIP's
 * `text_projection`, a `[hidden, projection]` matrix where transformers stores a Linear weight `[projection, hidden]`.
 */
export interface RenamedSlice {
  readonly name: string;
  readonly third?: 0 | 1 | 2;
  readonly transpose?: true;
}

const OPENCLIP_LAYER_PARTS: readonly [RegExp, string][] = [
  [/^ln_1\./, 'layer_norm1.'],
  [/^ln_2\./, 'layer_norm2.'],
  [/^attn\.out_proj\./, 'self_attn.out_proj.'],
  [/^mlp\.c_fc\./, 'mlp.fc1.'],
  [/^mlp\.c_proj\./, 'mlp.fc2.'],
];

/**
 * OpenCLIP names (SD 2.x `cond_stage_model.model.`, SDXL `conditioner.embedders.1.model.`) → transformers CLIP
 * names; q/k/v come from one packed tensor.
 */
export function openClipNames(key: string): RenamedSlice[] {
  let m: RegExpExecArray | null;
  if (key === 'text_projection') return [{ name: 'text_projection.weight', transpose: true }];
  if (key === 'token_embedding.weight') return [{ name: 'text_model.embeddings.token_embedding.weight' }];
  if (key === 'positional_embedding') return [{ name: 'text_model.embeddings.position_embedding.weight' }];
  if ((m = /^ln_final\.(.+)$/.exec(key))) return [{ name: `text_model.final_layer_norm.${m[1]}` }];
  if ((m = /^transformer\.resblocks\.(\d+)\.(.+)$/.exec(key)) === null) return [];
  const layer = `text_model.encoder.layers.${m[1]}`;
  const rest = m[2] ?? '';
  if ((m = /^attn\.in_proj_(weight|bias)$/.exec(rest))) {
    return (['q_proj', 'k_proj', 'v_proj'] as const).map((proj, i) => ({
      name: `${layer}.self_attn.${proj}.${m?.[1]}`,
      third: i as 0 | 1 | 2,
    }));
  }
  const part = renameParts(rest, OPENCLIP_LAYER_PARTS);
  return part === undefined ? [] : [{ name: `${layer}.${part}` }];
}
