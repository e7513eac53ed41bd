import { crc32 } from 'node:zlib';
import { ImageInputError } from './errors.js';

/** The 8 bytes every PNG file starts with. */
const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** One chunk of a PNG stream (ISO/IEC 15948 §5.3). */
export interface PngChunk {
  /** Four ASCII letters, e.g. `IHDR`, `tEXt`. */
  readonly type: string;
  /** The chunk's data field (a view into the file, not a copy). */
  readonly data: Uint8Array;
  /** Byte offset of the chunk's length field in the file. */
  readonly offset: number;
}

/** Whether `bytes` starts with the PNG signature. */
export function hasPngSignature(bytes: Uint8Array): boolean {
  return bytes.length >= SIGNATURE.length && SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * The chunks of a PNG file in order, up to and including `IEND`, each CRC-checked: a stored text chunk is only
 * trusted if it is intact.
 *
 * @throws {ImageInputError} `NOT_AN_IMAGE` without the PNG signature, `CORRUPT` for a truncated chunk, a CRC
 *   mismatch or a missing `IEND`.
 */
export function* readPngChunks(bytes: Uint8Array): Generator<PngChunk> {
  if (!hasPngSignature(bytes)) throw new ImageInputError('NOT_AN_IMAGE', 'This file is not a PNG image.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = SIGNATURE.length;
  while (offset + 12 <= bytes.length) {
    const length = view.getUint32(offset);
    const end = offset + 12 + length;
    if (end > bytes.length) break;
    const typeAndData = bytes.subarray(offset + 4, offset + 8 + length);
    if (crc32(typeAndData) !== view.getUint32(offset + 8 + length)) {
      throw new ImageInputError('CORRUPT', `The PNG file is damaged (checksum error at byte ${offset}).`);
    }
    const type = String.fromCharCode(...typeAndData.subarray(0, 4));
    yield { type, data: typeAndData.subarray(4), offset };
    if (type === 'IEND') return;
    offset = end;
  }
  throw new ImageInputError('CORRUPT', 'The PNG file is incomplete (it ends before its last chunk).');
}

/** A complete chunk (length, type, data, CRC-32 of type and data) ready to splice into a PNG stream. */
export function encodePngChunk(type: string, data: Uint8Array): Uint8Array {
  if (!/^[A-Za-z]{4}$/.test(type)) throw new RangeError(`PNG chunk type must be four ASCII letters, got "${type}"`);
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(Buffer.from(type, 'latin1'), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return chunk;
}

/**
 * `png` with `chunk` inserted before the first `IDAT`. Pillow (and so A1111) writes its text chunks there, and
 * readers that stop at the image data, such as metadata viewers that read only a file's head, still see them.
 */
export function insertBeforeImageData(png: Uint8Array, chunk: Uint8Array): Uint8Array {
  const idat = [...readPngChunks(png)].find((c) => c.type === 'IDAT');
  if (idat === undefined) throw new ImageInputError('CORRUPT', 'The PNG file has no image data.');
  const out = new Uint8Array(png.length + chunk.length);
  out.set(png.subarray(0, idat.offset), 0);
  out.set(chunk, idat.offset);
  out.set(png.subarray(idat.offset), idat.offset + chunk.length);
  return out;
}
