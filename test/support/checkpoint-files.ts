import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { float32ToFloat16 } from '../../src/pipeline/runtime/float16.js';
import { SafetensorsFile } from '../../src/checkpoint/index.js';
import { writeSafetensors, type TensorToWrite } from './safetensors-writer.js';
import { elementCount, type LayoutEntry } from './sd15-layout.js';

/** The copied checkpoint fixtures (`test/fixtures/checkpoints`, unpacked from `test/fixtures.tar.xz`). */
export const CHECKPOINTS = fileURLToPath(new URL('../fixtures/checkpoints/', import.meta.url));
export const TINY_SD = join(CHECKPOINTS, 'tiny-sd.safetensors');
export const TINY_SD_INPAINT = join(CHECKPOINTS, 'tiny-sd-inpaint.safetensors');
export const TINY_LORA = join(CHECKPOINTS, 'tiny-lora.safetensors');

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
