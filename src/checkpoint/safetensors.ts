import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { float16ToFloat32 } from '../pipeline/index.js';
import { CheckpointError } from './errors.js';

/** Bytes per element of every dtype the safetensors format defines. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

/** The dtypes a model weight comes in and that widen exactly to float32. */
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

/** A header larger than this is not a model's (SDXL's has ≈ 2 500 tensors in ≈ 300 KB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Byte range relative to the start of the data area (the end of the header). */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsOptions {
  /** Called once per tensor that holds NaN values (a broken merge or fp16 overflow: its pictures will be black). */
  readonly onWarning?: (message: string) => void;
}

/**
 * A `.safetensors` file: an 8-byte little-endian header length, a JSON header (`dtype`, `shape`, `data_offsets`
 * per tensor, optional `__metadata__`), then the raw little-endian data. Only the header is read when opening;
 * each tensor is read by offset when asked for, so a multi-GB file is never in memory whole.
 */
export class SafetensorsFile {
  readonly path: string;
  readonly metadata: Readonly<Record<string, string>>;
  private readonly tensors: ReadonlyMap<string, TensorInfo>;
  private readonly dataStart: number;
  private readonly onWarning: (message: string) => void;

  private constructor(
    path: string,
    header: { metadata: Record<string, string>; tensors: Map<string, TensorInfo>; dataStart: number },
    options: SafetensorsOptions,
  ) {
    this.path = path;
    this.metadata = header.metadata;
    this.tensors = header.tensors;
    this.dataStart = header.dataStart;
    this.onWarning = options.onWarning ?? (() => undefined);
  }

  /**
   * Reads and checks the header of `path`.
   * @throws CheckpointError `TRUNCATED`, `BAD_HEADER`, `BAD_OFFSETS` or `UNKNOWN_DTYPE`.
   */
  static open(path: string, options: SafetensorsOptions = {}): SafetensorsFile {
    return new SafetensorsFile(path, withFile(path, (fd) => readHeader(path, fd)), options);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new CheckpointError('INCOMPLETE', this.path, `${basename(this.path)} has no tensor ${name}`);
    return info;
  }

  /** The tensor's raw bytes, read from disk now. */
  readBytes(name: string): Buffer {
    const { begin, end } = this.info(name);
    // allocUnsafeSlow: a buffer of its own (offset 0), so typed-array views over it are aligned.
    const buffer = Buffer.allocUnsafeSlow(end - begin);
    withFile(this.path, (fd) => readFully(this.path, fd, buffer, this.dataStart + begin));
    return buffer;
  }

  /**
   * The tensor's values widened to float32.
   * @throws CheckpointError `UNKNOWN_DTYPE` for a tensor that is not F32, F16 or BF16.
   */
  read(name: string): Float32Array {
    const { dtype } = this.info(name);
    if (!FLOAT_DTYPES.has(dtype)) {
      throw new CheckpointError(
        'UNKNOWN_DTYPE',
        this.path,
        `${basename(this.path)}: tensor ${name} is ${dtype}; dreamcord reads model weights in F32, F16 or BF16 only`,
      );
    }
    const { values, nans } = widen(dtype, this.readBytes(name));
    this.warnNaN(name, nans, values.length);
    return values;
  }

  /** The tensor's fp16 bits when it is stored as F16 (for an fp16 output, no round trip through float32), else undefined. */
  readFloat16(name: string): Uint16Array | undefined {
    if (this.info(name).dtype !== 'F16') return undefined;
    const bytes = this.readBytes(name);
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
    this.warnNaN(name, countHalfNaN(halves), halves.length);
    return halves;
  }

  private warnNaN(name: string, nans: number, total: number): void {
    if (nans > 0) this.onWarning(`${basename(this.path)}: tensor ${name} holds ${nans} NaN values of ${total}`);
  }
}

function countHalfNaN(halves: Uint16Array): number {
  let nans = 0;
  for (let i = 0; i < halves.length; i++) if (((halves[i] as number) & 0x7fff) > 0x7c00) nans++;
  return nans;
}

function withFile<T>(path: string, use: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new CheckpointError('NOT_FOUND', path, `Cannot open ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

function readFully(path: string, fd: number, buffer: Buffer, position: number): void {
  let done = 0;
  while (done < buffer.length) {
    const read = readSync(fd, buffer, done, buffer.length - done, position + done);
    if (read === 0) {
      throw new CheckpointError('TRUNCATED', path, `${basename(path)} ends early: the file is truncated (an interrupted download?)`);
    }
    done += read;
  }
}

function readHeader(
  path: string,
  fd: number,
): { metadata: Record<string, string>; tensors: Map<string, TensorInfo>; dataStart: number } {
  const name = basename(path);
  const size = fstatSync(fd).size;
  if (size < 8) throw new CheckpointError('TRUNCATED', path, `${name} is ${size} bytes long: too short for a safetensors file`);
  const lengthBytes = Buffer.alloc(8);
  readFully(path, fd, lengthBytes, 0);
  const headerLength = Number(lengthBytes.readBigUInt64LE(0));
  if (headerLength + 8 > size) {
    throw new CheckpointError(
      'BAD_HEADER',
      path,
      `${name}: the header claims ${headerLength} bytes but the file has only ${size - 8} after the length field ` +
        '(truncated, or not a safetensors file)',
    );
  }
  if (headerLength > MAX_HEADER_BYTES) {
    throw new CheckpointError('BAD_HEADER', path, `${name}: a header of ${headerLength} bytes is not a safetensors header`);
  }
  const headerBytes = Buffer.alloc(headerLength);
  readFully(path, fd, headerBytes, 8);
  const entries = parseHeaderJson(path, headerBytes);
  const dataStart = 8 + headerLength;
  const { metadata, tensors } = parseEntries(path, entries);
  checkOffsets(path, tensors, size - dataStart);
  return { metadata, tensors, dataStart };
}

function parseHeaderJson(path: string, bytes: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new CheckpointError('BAD_HEADER', path, `${basename(path)}: the header is not JSON, so this is not a safetensors file`, {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CheckpointError('BAD_HEADER', path, `${basename(path)}: the header is JSON but not an object of tensors`);
  }
  return parsed as Record<string, unknown>;
}

function parseEntries(
  path: string,
  entries: Record<string, unknown>,
): { metadata: Record<string, string>; tensors: Map<string, TensorInfo> } {
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [key, value] of Object.entries(entries)) {
    if (key === '__metadata__') {
      if (typeof value === 'object' && value !== null) {
        for (const [k, v] of Object.entries(value)) if (typeof v === 'string') metadata[k] = v;
      }
      continue;
    }
    tensors.set(key, parseEntry(path, key, value));
  }
  return { metadata, tensors };
}

function parseEntry(path: string, key: string, value: unknown): TensorInfo {
  const name = basename(path);
  const entry = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !isIntArray(shape) || !isIntArray(offsets) || offsets.length !== 2) {
    throw new CheckpointError('BAD_HEADER', path, `${name}: the header entry of ${key} lacks a dtype, shape or data_offsets`);
  }
  const bytesPer = DTYPE_BYTES[dtype];
  if (bytesPer === undefined) {
    throw new CheckpointError('UNKNOWN_DTYPE', path, `${name}: tensor ${key} has the unknown dtype ${JSON.stringify(dtype)}`);
  }
  const [begin = 0, end = 0] = offsets;
  const expected = shape.reduce((a, b) => a * b, 1) * bytesPer;
  if (end < begin || end - begin !== expected) {
    throw new CheckpointError(
      'BAD_OFFSETS',
      path,
      `${name}: tensor ${key} (${dtype} ${JSON.stringify(shape)}, ${expected} bytes) has data_offsets [${begin}, ${end}]`,
    );
  }
  return { dtype, shape, begin, end };
}

function isIntArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && (v as number) >= 0);
}

/** Every tensor's bytes must lie inside the data area, and no two may share bytes. */
function checkOffsets(path: string, tensors: ReadonlyMap<string, TensorInfo>, dataBytes: number): void {
  const name = basename(path);
  const sorted = [...tensors.entries()].sort((a, b) => a[1].begin - b[1].begin);
  let previous: [string, TensorInfo] | undefined;
  for (const entry of sorted) {
    const [key, info] = entry;
    if (previous && info.begin < previous[1].end && info.end > info.begin) {
      throw new CheckpointError(
        'BAD_OFFSETS',
        path,
        `${name}: tensors ${previous[0]} [${previous[1].begin}, ${previous[1].end}] and ${key} [${info.begin}, ${info.end}] overlap`,
      );
    }
    if (info.end > info.begin) previous = entry;
  }
  let lastKey = '';
  let lastEnd = 0;
  for (const [key, info] of sorted) if (info.end > lastEnd) [lastKey, lastEnd] = [key, info.end];
  if (lastEnd > dataBytes) {
    throw new CheckpointError(
      'TRUNCATED',
      path,
      `${name} is truncated: tensor ${lastKey} needs data up to byte ${lastEnd} but the file holds ${dataBytes} ` +
        '(an interrupted download? download it again)',
    );
  }
}

/** float32 bit patterns of all 65 536 fp16 values, built on first use (256 KiB): zeros, subnormals, Inf, NaN. */
let halfTable: Uint32Array | undefined;

/**
 * The values as float32, and how many are NaN, in one pass: for SD 1.5 these loops run a billion times, so they
 * work on bit patterns (a normal fp16 becomes a float32 by rebiasing its exponent: + (127 − 15) << 10, then
 * << 13) and count NaN on the way.
 */
function widen(dtype: string, bytes: Buffer): { values: Float32Array; nans: number } {
  let nans = 0;
  if (dtype === 'F32') {
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) nans++;
    return { values, nans };
  }
  const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  const values = new Float32Array(halves.length);
  const bits = new Uint32Array(values.buffer);
  if (dtype === 'F16') {
    const table = (halfTable ??= new Uint32Array(float16ToFloat32(Uint16Array.from({ length: 0x10000 }, (_, i) => i)).buffer));
    for (let i = 0; i < halves.length; i++) {
      const h = halves[i] as number;
      const exponent = h & 0x7c00;
      if (exponent !== 0 && exponent !== 0x7c00) {
        bits[i] = ((h & 0x8000) << 16) | (((h & 0x7fff) + 0x1c000) << 13);
      } else {
        bits[i] = table[h] as number;
        if (exponent !== 0 && (h & 0x3ff) !== 0) nans++;
      }
    }
  } else {
    // BF16 is the top half of a float32's bits.
    for (let i = 0; i < halves.length; i++) {
      const h = halves[i] as number;
      bits[i] = h << 16;
      if ((h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0) nans++;
    }
  }
  return { values, nans };
}
