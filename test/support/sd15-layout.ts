/**
 * Every weight of a real Stable Diffusion 1.5 single-file checkpoint (A1111 / LDM names and shapes), written out
 * from the published architecture (UNet: 320·[1, 2, 4, 4] channels, 2 layers per level, 8 heads, 768-wide context;
 * VAE: 128·[1, 2, 4, 4]; CLIP ViT-L/14 text encoder), independently of the converter's own key mapping. Used to
 * make full-size and header-only checkpoints for the benchmark and the family tests. The `sd2` variant is SD 2.x:
 * a 1024-wide context, Linear proj_in/proj_out, and OpenCLIP ViT-H/14's text tower (24 blocks of 1024).
 */
export interface LayoutEntry {
  readonly name: string;
  readonly shape: readonly number[];
}

export type Add = (name: string, shape: readonly number[]) => void;

export type LayoutVariant = 'sd15' | 'sd2';

export function weightAndBias(add: Add, prefix: string, weight: readonly number[]): void {
  add(`${prefix}.weight`, weight);
  add(`${prefix}.bias`, [weight[0] ?? 0]);
}

function unetResBlock(add: Add, p: string, inCh: number, outCh: number): void {
  weightAndBias(add, `${p}.in_layers.0`, [inCh]);
  weightAndBias(add, `${p}.in_layers.2`, [outCh, inCh, 3, 3]);
  weightAndBias(add, `${p}.emb_layers.1`, [outCh, 1280]);
  weightAndBias(add, `${p}.out_layers.0`, [outCh]);
  weightAndBias(add, `${p}.out_layers.3`, [outCh, outCh, 3, 3]);
  if (inCh !== outCh) weightAndBias(add, `${p}.skip_connection`, [outCh, inCh, 1, 1]);
}

/** One transformer block (`b`): self-attention, cross-attention on a `contextWidth`-wide text, GEGLU feed-forward. */
export function transformerBlock(add: Add, b: string, ch: number, contextWidth: number): void {
  for (const attn of ['attn1', 'attn2']) {
    const context = attn === 'attn1' ? ch : contextWidth;
    add(`${b}.${attn}.to_q.weight`, [ch, ch]);
    add(`${b}.${attn}.to_k.weight`, [ch, context]);
    add(`${b}.${attn}.to_v.weight`, [ch, context]);
    weightAndBias(add, `${b}.${attn}.to_out.0`, [ch, ch]);
  }
  weightAndBias(add, `${b}.ff.net.0.proj`, [ch * 8, ch]);
  weightAndBias(add, `${b}.ff.net.2`, [ch, ch * 4]);
  for (const n of ['norm1', 'norm2', 'norm3']) weightAndBias(add, `${b}.${n}`, [ch]);
}

function unetAttention(add: Add, p: string, ch: number, variant: LayoutVariant): void {
  const contextWidth = variant === 'sd2' ? 1024 : 768;
  const projection = variant === 'sd2' ? [ch, ch] : [ch, ch, 1, 1];
  weightAndBias(add, `${p}.norm`, [ch]);
  weightAndBias(add, `${p}.proj_in`, projection);
  transformerBlock(add, `${p}.transformer_blocks.0`, ch, contextWidth);
  weightAndBias(add, `${p}.proj_out`, projection);
}

function unet(add: Add, channels: readonly number[], variant: LayoutVariant): void {
  const u = 'model.diffusion_model';
  weightAndBias(add, `${u}.time_embed.0`, [1280, 320]);
  weightAndBias(add, `${u}.time_embed.2`, [1280, 1280]);
  weightAndBias(add, `${u}.input_blocks.0.0`, [320, 4, 3, 3]);
  const skips = [320];
  let ch = 320;
  let block = 1;
  channels.forEach((out, level) => {
    for (let j = 0; j < 2; j++, block++) {
      unetResBlock(add, `${u}.input_blocks.${block}.0`, ch, out);
      ch = out;
      if (level < 3) unetAttention(add, `${u}.input_blocks.${block}.1`, ch, variant);
      skips.push(ch);
    }
    if (level < 3) {
      weightAndBias(add, `${u}.input_blocks.${block++}.0.op`, [ch, ch, 3, 3]);
      skips.push(ch);
    }
  });
  unetResBlock(add, `${u}.middle_block.0`, ch, ch);
  unetAttention(add, `${u}.middle_block.1`, ch, variant);
  unetResBlock(add, `${u}.middle_block.2`, ch, ch);
  [...channels].reverse().forEach((out, level) => {
    for (let j = 0; j < 3; j++) {
      const i = level * 3 + j;
      unetResBlock(add, `${u}.output_blocks.${i}.0`, ch + (skips.pop() ?? 0), out);
      ch = out;
      if (level > 0) unetAttention(add, `${u}.output_blocks.${i}.1`, ch, variant);
      if (level < 3 && j === 2) weightAndBias(add, `${u}.output_blocks.${i}.${level > 0 ? 2 : 1}.conv`, [ch, ch, 3, 3]);
    }
  });
  weightAndBias(add, `${u}.out.0`, [320]);
  weightAndBias(add, `${u}.out.2`, [4, 320, 3, 3]);
}

function vaeResBlock(add: Add, p: string, inCh: number, outCh: number): void {
  weightAndBias(add, `${p}.norm1`, [inCh]);
  weightAndBias(add, `${p}.conv1`, [outCh, inCh, 3, 3]);
  weightAndBias(add, `${p}.norm2`, [outCh]);
  weightAndBias(add, `${p}.conv2`, [outCh, outCh, 3, 3]);
  if (inCh !== outCh) weightAndBias(add, `${p}.nin_shortcut`, [outCh, inCh, 1, 1]);
}

function vaeMid(add: Add, p: string, ch: number): void {
  vaeResBlock(add, `${p}.mid.block_1`, ch, ch);
  weightAndBias(add, `${p}.mid.attn_1.norm`, [ch]);
  for (const n of ['q', 'k', 'v', 'proj_out']) weightAndBias(add, `${p}.mid.attn_1.${n}`, [ch, ch, 1, 1]);
  vaeResBlock(add, `${p}.mid.block_2`, ch, ch);
}

/** The VAE (`first_stage_model`) with the given level widths (SD's: 128·[1, 2, 4, 4], as SDXL's). */
export function vae(add: Add, channels: readonly number[]): void {
  const e = 'first_stage_model.encoder';
  let ch = channels[0] ?? 0;
  weightAndBias(add, `${e}.conv_in`, [ch, 3, 3, 3]);
  channels.forEach((out, level) => {
    for (let j = 0; j < 2; j++) {
      vaeResBlock(add, `${e}.down.${level}.block.${j}`, ch, out);
      ch = out;
    }
    if (level < 3) weightAndBias(add, `${e}.down.${level}.downsample.conv`, [ch, ch, 3, 3]);
  });
  vaeMid(add, e, ch);
  weightAndBias(add, `${e}.norm_out`, [ch]);
  weightAndBias(add, `${e}.conv_out`, [8, ch, 3, 3]);
  weightAndBias(add, 'first_stage_model.quant_conv', [8, 8, 1, 1]);
  weightAndBias(add, 'first_stage_model.post_quant_conv', [4, 4, 1, 1]);
  const d = 'first_stage_model.decoder';
  weightAndBias(add, `${d}.conv_in`, [ch, 4, 3, 3]);
  vaeMid(add, d, ch);
  for (let level = 3; level >= 0; level--) {
    const out = channels[level] ?? 0;
    for (let j = 0; j < 3; j++) {
      vaeResBlock(add, `${d}.up.${level}.block.${j}`, ch, out);
      ch = out;
    }
    if (level > 0) weightAndBias(add, `${d}.up.${level}.upsample.conv`, [ch, ch, 3, 3]);
  }
  weightAndBias(add, `${d}.norm_out`, [ch]);
  weightAndBias(add, `${d}.conv_out`, [3, ch, 3, 3]);
}

/** A text encoder's width and layer count, and the key prefix it sits under in the single file. */
export interface TextTower {
  readonly prefix: string;
  readonly width: number;
  readonly layers: number;
}

/** CLIP's text encoder in transformers' naming (SD 1.x's ViT-L/14: 12 layers of 768). */
export function clipTextEncoder(add: Add, { prefix, width, layers }: TextTower): void {
  const t = `${prefix}.text_model`;
  add(`${t}.embeddings.token_embedding.weight`, [49408, width]);
  add(`${t}.embeddings.position_embedding.weight`, [77, width]);
  for (let i = 0; i < layers; i++) {
    const l = `${t}.encoder.layers.${i}`;
    weightAndBias(add, `${l}.layer_norm1`, [width]);
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) weightAndBias(add, `${l}.self_attn.${p}`, [width, width]);
    weightAndBias(add, `${l}.layer_norm2`, [width]);
    weightAndBias(add, `${l}.mlp.fc1`, [4 * width, width]);
    weightAndBias(add, `${l}.mlp.fc2`, [width, 4 * width]);
  }
  weightAndBias(add, `${t}.final_layer_norm`, [width]);
}

/** OpenCLIP's text tower in its own naming (SD 2.x's ViT-H/14: 24 blocks of 1024), with its text projection. */
export function openClipTextEncoder(add: Add, { prefix, width, layers }: TextTower): void {
  const t = prefix;
  add(`${t}.token_embedding.weight`, [49408, width]);
  add(`${t}.positional_embedding`, [77, width]);
  for (let i = 0; i < layers; i++) {
    const b = `${t}.transformer.resblocks.${i}`;
    weightAndBias(add, `${b}.ln_1`, [width]);
    add(`${b}.attn.in_proj_weight`, [3 * width, width]);
    add(`${b}.attn.in_proj_bias`, [3 * width]);
    weightAndBias(add, `${b}.attn.out_proj`, [width, width]);
    weightAndBias(add, `${b}.ln_2`, [width]);
    weightAndBias(add, `${b}.mlp.c_fc`, [4 * width, width]);
    weightAndBias(add, `${b}.mlp.c_proj`, [width, 4 * width]);
  }
  weightAndBias(add, `${t}.ln_final`, [width]);
  add(`${t}.text_projection`, [width, width]);
}

/** The float weights in A1111's layout (the non-float buffers such files also hold are left out). */
export function sd15Layout(variant: LayoutVariant = 'sd15'): LayoutEntry[] {
  const entries: LayoutEntry[] = [];
  const add: Add = (name, shape) => entries.push({ name, shape });
  unet(add, [320, 640, 1280, 1280], variant);
  vae(add, [128, 256, 512, 512]);
  if (variant === 'sd2') openClipTextEncoder(add, { prefix: 'cond_stage_model.model', width: 1024, layers: 24 });
  else clipTextEncoder(add, { prefix: 'cond_stage_model.transformer', width: 768, layers: 12 });
  return entries;
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
