// Shared by the pipeline's end-to-end tests: capturing CLI output, reading raw float32 files, comparing arrays.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';

/** A writable stream that keeps what is written in `text`; `isTTY` as a terminal would report it. */
export function captureStream(isTTY = false): Writable & { text: string; isTTY: boolean } {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string; isTTY: boolean };
  stream.text = '';
  stream.isTTY = isTTY;
  return stream;
}

/** A file of little-endian float32 values. */
export function readF32(file: string): Float32Array {
  const bytes = readFileSync(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

/** The largest absolute difference between two arrays of the same length. */
export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return worst;
}
