/**
 * Every weight of an SDXL base single-file checkpoint (LDM / A1111 names and shapes), written out from the published
 * architecture independently of the converter's key mapping: UNet 320·[1, 2, 4] channels, 2 layers per level,
 * transformer depths [0, 2, 10] with 64-wide heads (10 and 20 heads), Linear proj_in/proj_out, a 2048-wide context,
 * `label_emb` for the pooled text (1280) and six 256-wide size embeddings; VAE 128·[1, 2, 4, 4]; CLIP ViT-L/14
 * (`conditioner.embedders.0`) and OpenCLIP ViT-bigG/14 (`conditioner.embedders.1`, 32 blocks of 1280). The full
 * size is the GPU benchmark's checkpoint (2.57 B UNet parameters); `SDXL_REDUCED` keeps the depths and layer
 * counts at narrow widths, so a test converts it in seconds.
 */
import { clipTextEncoder, openClipTextEncoder, transformerBlock, vae, weightAndBias, type Add, type LayoutEntry } from './sd15-layout.js';

export interface SdxlWidths {
  /** The UNet's first level (320); the others are 2× and 4×, the time embedding 4×. */
  readonly unet: number;
  /** Each of the six size conditions' sinusoidal embedding (256). */
  readonly timeIdWidth: number;
  /** The VAE's first level (128). */
  readonly vae: number;
  /** CLIP ViT-L's width (768) and OpenCLIP bigG's (1280, also the pooled projection's). */
  readonly clip: number;
  readonly openClip: number;
}

export const SDXL_FULL: SdxlWidths = { unet: 320, timeIdWidth: 256, vae: 128, clip: 768, openClip: 1280 };
/** Narrow enough to convert on a CPU in seconds; every width a multiple of the 32 groups and of the 64-wide heads' narrow rule. */
export const SDXL_REDUCED: SdxlWidths = { unet: 32, timeIdWidth: 8, vae: 32, clip: 64, openClip: 64 };

/** Transformer blocks per level (SDXL base). */
const DEPTHS = [0, 2, 10] as const;
const MIDDLE_DEPTH = 10;

function resBlock(add: Add, p: string, inCh: number, outCh: number, embWidth: number): void {
  weightAndBias(add, `${p}.in_layers.0`, [inCh]);
  weightAndBias(add, `${p}.in_layers.2`, [outCh, inCh, 3, 3]);
  weightAndBias(add, `${p}.emb_layers.1`, [outCh, embWidth]);
  weightAndBias(add, `${p}.out_layers.0`, [outCh]);
  weightAndBias(add, `${p}.out_layers.3`, [outCh, outCh, 3, 3]);
  if (inCh !== outCh) weightAndBias(add, `${p}.skip_connection`, [outCh, inCh, 1, 1]);
}

function spatialTransformer(add: Add, p: string, ch: number, depth: number, contextWidth: number): void {
  weightAndBias(add, `${p}.norm`, [ch]);
  weightAndBias(add, `${p}.proj_in`, [ch, ch]);
  for (let k = 0; k < depth; k++) transformerBlock(add, `${p}.transformer_blocks.${k}`, ch, contextWidth);
  weightAndBias(add, `${p}.proj_out`, [ch, ch]);
}

function sdxlUnet(add: Add, w: SdxlWidths): void {
  const u = 'model.diffusion_model';
  const emb = 4 * w.unet;
  const context = w.clip + w.openClip;
  const channels = DEPTHS.map((_, level) => w.unet << level);
  weightAndBias(add, `${u}.time_embed.0`, [emb, w.unet]);
  weightAndBias(add, `${u}.time_embed.2`, [emb, emb]);
  weightAndBias(add, `${u}.label_emb.0.0`, [emb, w.openClip + 6 * w.timeIdWidth]);
  weightAndBias(add, `${u}.label_emb.0.2`, [emb, emb]);
  weightAndBias(add, `${u}.input_blocks.0.0`, [w.unet, 4, 3, 3]);
  const skips = [w.unet];
  let ch = w.unet;
  let block = 1;
  channels.forEach((out, level) => {
    const depth = DEPTHS[level] ?? 0;
    for (let j = 0; j < 2; j++, block++) {
      resBlock(add, `${u}.input_blocks.${block}.0`, ch, out, emb);
      ch = out;
      if (depth > 0) spatialTransformer(add, `${u}.input_blocks.${block}.1`, ch, depth, context);
      skips.push(ch);
    }
    if (level < channels.length - 1) {
      weightAndBias(add, `${u}.input_blocks.${block++}.0.op`, [ch, ch, 3, 3]);
      skips.push(ch);
    }
  });
  resBlock(add, `${u}.middle_block.0`, ch, ch, emb);
  spatialTransformer(add, `${u}.middle_block.1`, ch, MIDDLE_DEPTH, context);
  resBlock(add, `${u}.middle_block.2`, ch, ch, emb);
  [...channels].reverse().forEach((out, level) => {
    const depth = DEPTHS[channels.length - 1 - level] ?? 0;
    for (let j = 0; j < 3; j++) {
      const i = level * 3 + j;
      resBlock(add, `${u}.output_blocks.${i}.0`, ch + (skips.pop() ?? 0), out, emb);
      ch = out;
      if (depth > 0) spatialTransformer(add, `${u}.output_blocks.${i}.1`, ch, depth, context);
      if (level < channels.length - 1 && j === 2) weightAndBias(add, `${u}.output_blocks.${i}.${depth > 0 ? 2 : 1}.conv`, [ch, ch, 3, 3]);
    }
  });
  weightAndBias(add, `${u}.out.0`, [w.unet]);
  weightAndBias(add, `${u}.out.2`, [4, w.unet, 3, 3]);
}

/** The float weights of an SDXL base checkpoint at the given widths (`SDXL_FULL` for the real model). */
export function sdxlLayout(widths: SdxlWidths = SDXL_FULL): LayoutEntry[] {
  const entries: LayoutEntry[] = [];
  const add: Add = (name, shape) => entries.push({ name, shape });
  sdxlUnet(add, widths);
  vae(add, [1, 2, 4, 4].map((m) => m * widths.vae));
  clipTextEncoder(add, { prefix: 'conditioner.embedders.0.transformer', width: widths.clip, layers: 12 });
  openClipTextEncoder(add, { prefix: 'conditioner.embedders.1.model', width: widths.openClip, layers: 32 });
  return entries;
}
