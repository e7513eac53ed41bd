import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { ImageInputError } from './errors.js';
import { encodePngChunk, insertBeforeImageData, readPngChunks } from './pngChunks.js';
import type { Rgb8Image } from './types.js';

/** The text-chunk keyword A1111 stores its infotext under. */
export const PARAMETERS_KEYWORD = 'parameters';

/** `default`: sharp's zlib level 6, fast. `smallest`: level 9 with adaptive row filters, several times slower. */
export type PngCompression = 'default' | 'smallest';

/**
 * Encodes an 8-bit RGB image as PNG and, when `parameters` is given, stores it in a `parameters` text chunk as
 * A1111 does (see {@link pngTextChunk}), placed before the image data like Pillow places it.
 */
export async function encodePng(
  image: Rgb8Image,
  parameters?: string,
  compression: PngCompression = 'default',
): Promise<Uint8Array> {
  const smallest = compression === 'smallest';
  const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: smallest ? 9 : 6, adaptiveFiltering: smallest })
    .toBuffer();
  const bytes = new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
  return parameters === undefined ? bytes : withParameters(bytes, parameters);
}

/** `png` with A1111's `parameters` text chunk (see {@link pngTextChunk}) added before the image data. */
export function withParameters(png: Uint8Array, parameters: string): Uint8Array {
  return insertBeforeImageData(png, pngTextChunk(PARAMETERS_KEYWORD, parameters));
}

/**
 * A PNG text chunk as Pillow's `PngInfo.add_text` (A1111's writer) builds it: `tEXt` when the text is Latin-1
 * (every code point ≤ U+00FF), else an uncompressed `iTXt` with empty language tag and translated keyword and
 * the text in UTF-8.
 *
 * @param keyword - 1–79 Latin-1 characters without NUL (the PNG rule).
 */
export function pngTextChunk(keyword: string, text: string): Uint8Array {
  if (keyword.length < 1 || keyword.length > 79 || keyword.includes('\0') || !isLatin1(keyword)) {
    throw new RangeError(`PNG text keyword must be 1–79 Latin-1 characters, got "${keyword}"`);
  }
  const key = Buffer.from(keyword, 'latin1');
  if (isLatin1(text)) {
    return encodePngChunk('tEXt', Buffer.concat([key, Uint8Array.of(0), Buffer.from(text, 'latin1')]));
  }
  // keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, text.
  const header = Uint8Array.of(0, 0, 0, 0, 0);
  return encodePngChunk('iTXt', Buffer.concat([key, header, Buffer.from(text, 'utf8')]));
}

/**
 * The text chunks of a PNG file (`tEXt`, `zTXt`, `iTXt`, compressed or not) as keyword → text; a later chunk
 * with the same keyword wins, as in Pillow. Every chunk's CRC is checked.
 *
 * @throws {ImageInputError} `NOT_AN_IMAGE` for bytes that are not a PNG, `CORRUPT` for a damaged file or text
 *   chunk.
 */
export function readPngText(bytes: Uint8Array): Record<string, string> {
  const entries: [string, string][] = [];
  for (const chunk of readPngChunks(bytes)) {
    const entry = decodeTextChunk(chunk.type, chunk.data);
    if (entry !== undefined) entries.push(entry);
  }
  // fromEntries defines own properties, so a keyword such as "__proto__" cannot reach the prototype.
  return Object.fromEntries(entries);
}

/** keyword and text of a text chunk, `undefined` for other chunk types. */
function decodeTextChunk(type: string, data: Uint8Array): [string, string] | undefined {
  if (type !== 'tEXt' && type !== 'zTXt' && type !== 'iTXt') return undefined;
  const keyEnd = data.indexOf(0);
  if (keyEnd < 1) throw damagedText(type);
  const keyword = Buffer.from(data.subarray(0, keyEnd)).toString('latin1');
  const rest = data.subarray(keyEnd + 1);
  if (type === 'tEXt') return [keyword, Buffer.from(rest).toString('latin1')];
  if (type === 'zTXt') return [keyword, Buffer.from(inflate(rest.subarray(1), rest[0], type)).toString('latin1')];
  const [compressed, method] = [rest[0], rest[1]];
  const languageEnd = rest.indexOf(0, 2);
  const translatedEnd = languageEnd < 0 ? -1 : rest.indexOf(0, languageEnd + 1);
  if (translatedEnd < 0) throw damagedText(type);
  const text = rest.subarray(translatedEnd + 1);
  return [keyword, Buffer.from(compressed === 1 ? inflate(text, method, type) : text).toString('utf8')];
}

/** zlib-inflated `data`; method 0 (deflate) is the only one PNG defines. */
function inflate(data: Uint8Array, method: number | undefined, type: string): Uint8Array {
  if (method !== 0) throw damagedText(type);
  try {
    return inflateSync(data);
  } catch (error) {
    throw damagedText(type, error);
  }
}

/** Whether every UTF-16 code unit is ≤ 0xFF (surrogates are not, so astral characters fail too). */
function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

function damagedText(type: string, cause?: unknown): ImageInputError {
  return new ImageInputError('CORRUPT', `The PNG file has a damaged ${type} text chunk.`, { cause });
}
