import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { float32ToFloat16 } from '../../src/pipeline/runtime/float16.js';
import { openCheckpoint, SafetensorsFile } from '../../src/checkpoint/index.js';
import { writeSafetensors, type TensorToWrite } from './safetensors-writer.js';
import { elementCount, type LayoutEntry } from './sd15-layout.js';

/** The copied checkpoint fixtures (`test/fixtures/checkpoints`, unpacked from `test/fixtures.tar.xz`). */
export const CHECKPOINTS = fileURLToPath(new URL('../fixtures/checkpoints/', import.meta.url));
export const TINY_SD = join(CHECKPOINTS, 'tiny-sd.safetensors');
export const TINY_SD_INPAINT = join(CHECKPOINTS, 'tiny-sd-inpaint.safetensors');
export const TINY_LORA = join(CHECKPOINTS, 'tiny-lora.safetensors');
/** A tiny SDXL base as a single file (`conditioner.embedders.*`, `label_emb`) and as the diffusers folder it came from. */
export const TINY_SDXL = join(CHECKPOINTS, 'tiny-sdxl.safetensors');
export const TINY_SDXL_FOLDER = join(CHECKPOINTS, 'tiny-sdxl');
/** A1111's textual-inversion embedding for tiny-sd: `emb_params`, 2 vectors × 16, called as `tinytok`. */
export const TINYTOK = join(CHECKPOINTS, 'tinytok.safetensors');

/** One reference case of `checkpoints.json`: what diffusers drew from the checkpoint fixtures, and how. */
export interface CheckpointCase {
  readonly id: string;
  readonly prompt: string;
  readonly negative?: string;
  readonly seed: number;
  readonly steps: number;
  readonly cfg: number;
  readonly h: number;
  readonly w: number;
  readonly scheduler: string;
  readonly output_file: string;
}

/** The reference cases of the checkpoint fixtures. */
export function checkpointCases(): readonly CheckpointCase[] {
  return (JSON.parse(readFileSync(join(CHECKPOINTS, 'checkpoints.json'), 'utf8')) as { cases: CheckpointCase[] }).cases;
}

/** Every tensor of `source`, as is, except those `keep` rejects. */
export function tensorsOf(source: string, keep: (name: string) => boolean = () => true): TensorToWrite[] {
  const file = SafetensorsFile.open(source);
  return file
    .names()
    .filter(keep)
    .map((name) => {
      const { dtype, shape } = file.info(name);
      return { name, dtype, shape, data: file.readBytes(name) };
    });
}

/**
 * `source` with its float32 tensors cast to fp16 (round to nearest even, as torch's `.half()`): the fp16 download
 * of the same model. The shared `tiny-sd-fp16.safetensors` is exactly this file made from `tiny-sd.safetensors`.
 */
export function writeFp16Copy(source: string, target: string): void {
  const file = SafetensorsFile.open(source);
  const tensors = tensorsOf(source).map((t): TensorToWrite => {
    if (t.dtype !== 'F32') return t;
    const bits = float32ToFloat16(file.read(t.name));
    return { ...t, dtype: 'F16', data: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength) };
  });
  writeSafetensors(target, tensors, file.metadata);
}

/**
 * A checkpoint of `layout` whose header is real but whose data is a hole (a sparse file: no disk, no memory), for
 * everything that reads only the header and shapes.
 */
export function writeHeaderOnly(path: string, layout: readonly LayoutEntry[], dtype = 'F16'): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const { name, shape } of layout) {
    const bytes = elementCount(shape) * (dtype === 'F32' ? 4 : 2);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, length);
    writeSync(fd, json);
    ftruncateSync(fd, 8 + json.length + offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * The tiny single-file checkpoint `source` saved as diffusers would save it (`unet/`, `vae/`, `text_encoder/`, each
 * weights + `config.json`, no tokenizer or scheduler), the configs written by hand from the fixture's architecture.
 */
export function writeDiffusersFolder(source: string, dir: string): void {
  const { components } = openCheckpoint(source);
  const parts = [
    ['unet', 'diffusion_pytorch_model.safetensors', components.unet.weights, {
      in_channels: 4, out_channels: 4, block_out_channels: [16, 32], layers_per_block: 1,
      down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'], up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
      cross_attention_dim: 16, attention_head_dim: 8, norm_num_groups: 8,
    }],
    ['vae', 'diffusion_pytorch_model.safetensors', components.vae.weights, {
      block_out_channels: [8, 8, 16, 16], layers_per_block: 1, latent_channels: 4, norm_num_groups: 8,
    }],
    ['text_encoder', 'model.safetensors', components.textEncoder.weights, {
      hidden_size: 16, intermediate_size: 32, num_hidden_layers: 3, num_attention_heads: 2, hidden_act: 'quick_gelu',
    }],
  ] as const;
  for (const [folder, file, weights, config] of parts) {
    mkdirSync(join(dir, folder), { recursive: true });
    writeFileSync(join(dir, folder, 'config.json'), JSON.stringify(config));
    writeSafetensors(join(dir, folder, file), weights.names().map((name) => {
      const values = weights.read(name);
      return { name, dtype: 'F32', shape: weights.shape(name), data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
    }));
  }
}
