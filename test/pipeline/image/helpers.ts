// Test helpers for the image module: fixture loading and a minimal PNG chunk writer/reader written
// independently of src/pipeline/image, so the tests do not check the code with itself.
import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

const REFERENCES = new URL('../../fixtures/references/', import.meta.url);

/** A file of test/fixtures/references. */
export async function readReference(name: string): Promise<Buffer> {
  return readFile(new URL(name, REFERENCES));
}

/** A little-endian float32 array from test/fixtures/references/bin. */
export async function readF32(name: string): Promise<Float32Array> {
  const bytes = await readReference(`bin/${name}`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk: big-endian length, type, data, CRC-32 over type and data. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** The chunks of a PNG as type and data, asserting nothing (the tests do). */
export function listChunks(png: Uint8Array): { type: string; data: Buffer; crcOk: boolean }[] {
  const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  const chunks = [];
  for (let offset = 8; offset + 12 <= bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    const body = bytes.subarray(offset + 4, offset + 8 + length);
    const crcOk = crc32(body) === bytes.readUInt32BE(offset + 8 + length);
    chunks.push({ type: body.subarray(0, 4).toString('latin1'), data: body.subarray(4), crcOk });
    offset += 12 + length;
  }
  return chunks;
}

/** `png` with `chunk` spliced in right after the IHDR chunk (signature 8 + IHDR 25 bytes). */
export function insertAfterHeader(png: Uint8Array, chunk: Uint8Array): Buffer {
  return Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)]);
}

/** Raw RGB pixels of an encoded image, as sharp decodes them. */
export async function rawRgb(encoded: Uint8Array): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(encoded).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Deterministic pseudo-random bytes (a 32-bit LCG), incompressible enough for size tests. */
export function noiseBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}
