import { closeSync, openSync, writeSync } from 'node:fs';

/** One tensor to write: its dtype (F32/F16/…), shape and bytes (or a function that fills them, for big files). */
export interface TensorToWrite {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array | ((target: Buffer) => void);
}

const BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1 };

/**
 * Writes a `.safetensors` file one tensor at a time (a full-size SD 1.5 file is never in memory whole), in the
 * layout the format's reference writer uses: the header padded with spaces to 8 bytes, data in header order.
 */
export function writeSafetensors(path: string, tensors: readonly TensorToWrite[], metadata?: Readonly<Record<string, string>>): void {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    const length = t.shape.reduce((a, b) => a * b, 1) * (BYTES[t.dtype] ?? 1);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(path, 'w');
  try {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    writeSync(fd, length);
    writeSync(fd, Buffer.from(json));
    for (const t of tensors) {
      const bytes = t.shape.reduce((a, b) => a * b, 1) * (BYTES[t.dtype] ?? 1);
      if (typeof t.data === 'function') {
        const buffer = Buffer.allocUnsafeSlow(bytes);
        t.data(buffer);
        writeSync(fd, buffer);
      } else {
        writeSync(fd, t.data);
      }
    }
  } finally {
    closeSync(fd);
  }
}
