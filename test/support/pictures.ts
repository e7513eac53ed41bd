import { readFileSync } from 'node:fs';
import { crc32, deflateRawSync, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { parseInfotext, readPngText, type ParsedInfotext } from '../../src/pipeline/image/index.js';
import { encodePngChunk, insertBeforeImageData } from '../../src/pipeline/image/pngChunks.js';
import type { FakeMessage, InteractionHandle } from './fake-discord/index.js';

/** Pixels as 8-bit interleaved samples. */
export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

/** The fixtures' 64×64 RGB img2img / inpaint input. */
export const INIT_IMAGE = readFileSync('test/fixtures/references/init_image.png');
/** The fixtures' 64×64 grey mask (white = repaint). */
export const MASK = readFileSync('test/fixtures/references/mask.png');

/** A PNG (3 or 4 channels) whose pixel at (x, y) is `colour(x, y)`. */
export async function drawPng(width: number, height: number, colour: (x: number, y: number) => readonly number[]): Promise<Buffer> {
  const channels = colour(0, 0).length as 3 | 4;
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(colour(x, y), (y * width + x) * channels);
  }
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}

/** The decoded pixels of an image file, as stored (no alpha added or removed). */
export async function pixelsOf(bytes: Uint8Array): Promise<Pixels> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, data };
}

/** The infotext of a result message's first picture. */
export function infotextOf(message: FakeMessage): ParsedInfotext {
  const [file] = message.attachments;
  if (!file) throw new Error(`message ${message.id} has no picture`);
  return parseInfotext(readPngText(file.bytes).parameters ?? '');
}

/** The value of embed field `name` of a result message. */
export function fieldOf(message: FakeMessage, name: string): string | undefined {
  return message.embeds[0]?.fields?.find((field) => field.name === name)?.value;
}

/** Whether a message is a finished result (it carries pictures). */
export const hasPictures = (message: FakeMessage): boolean => message.attachments.length > 0;

/**
 * The answer only the member sees: an ephemeral reply (a refusal before the bot acknowledged), or an ephemeral
 * follow-up (after it did).
 */
export async function privateAnswer(run: InteractionHandle): Promise<FakeMessage> {
  const answer = (handle: InteractionHandle) =>
    handle.followUps[0] ?? (handle.original?.ephemeral && !handle.original.loading ? handle.original : undefined);
  await run.waitFor((handle) => answer(handle) !== undefined, 30_000, 'a private answer');
  const message = answer(run);
  if (!message?.ephemeral) throw new Error(`the answer is not private: ${message?.content ?? 'none'}`);
  return message;
}

// ── Hostile files ───────────────────────────────────────────────────────────────────────────────────────────

/** A PNG that claims `width × height` pixels in its header but carries only a few bytes of image data. */
export function pngHeaderBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const signature = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
  const chunks = [encodePngChunk('IHDR', ihdr), encodePngChunk('IDAT', deflateSync(Buffer.alloc(1024))), encodePngChunk('IEND', new Uint8Array())];
  return Buffer.concat([signature, ...chunks]);
}

/** `png` made an APNG of `frames` frames (an `acTL` chunk before the image data). */
export function animated(png: Uint8Array, frames: number): Buffer {
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(frames, 0);
  return Buffer.from(insertBeforeImageData(png, encodePngChunk('acTL', actl)));
}

/** A zip archive of one file, `megabytes` MB of zeros deflated to a few KB (a "zip bomb"). */
export function zipBomb(megabytes: number): Buffer {
  const content = Buffer.alloc(megabytes * 1024 * 1024);
  const data = deflateRawSync(content, { level: 9 });
  const name = Buffer.from('zeros.bin');
  const local = zipRecord(0x04034b50, 30);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt32LE(crc32(content), 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = zipRecord(0x02014b50, 46);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc32(content), 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(name.length, 28);
  const end = zipRecord(0x06054b50, 22);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + name.length, 12);
  end.writeUInt32LE(30 + name.length + data.length, 16);
  return Buffer.concat([local, name, data, central, name, end]);
}

/** A zip header record of `size` bytes starting with its `signature`. */
function zipRecord(signature: number, size: number): Buffer {
  const buffer = Buffer.alloc(size);
  buffer.writeUInt32LE(signature, 0);
  return buffer;
}
