// Shared by the pipeline's end-to-end tests: capturing CLI output, reading raw float32 files, comparing arrays.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

export const REFERENCES = 'test/fixtures/references';
/** The bound the issue sets; a correct implementation lands near 1e-6 on the CPU provider. */
export const TOLERANCE = 2e-3;

export interface PipelineCase {
  readonly id: string;
  readonly model: string;
  readonly kind: 'txt2img' | 'img2img' | 'inpaint';
  readonly prompt: string;
  readonly negative?: string;
  readonly seed: number;
  readonly steps: number;
  readonly cfg: number;
  readonly w?: number;
  readonly h?: number;
  readonly scheduler: string;
  readonly n?: number;
  readonly strength?: number;
  readonly output_file: string;
  readonly output_shape: readonly number[];
}

/** The `pipelines` reference cases. */
export const PIPELINE_CASES = (
  JSON.parse(readFileSync(join(REFERENCES, 'references.json'), 'utf8')) as { pipelines: PipelineCase[] }
).pipelines;

/** Arguments of `dreamcord generate` for a reference case, run on `model`. */
export function argsFor(c: PipelineCase, raw: string, model: string): string[] {
  const args = ['--model', model, '--prompt', c.prompt, '--seed', String(c.seed)];
  args.push('--steps', String(c.steps), '--cfg', String(c.cfg), '--sampler', c.scheduler, '--count', String(c.n ?? 1));
  args.push('--rng', 'cpu', '--prompt-syntax', 'plain', '--ep', 'cpu', '--raw', raw);
  if (c.negative !== undefined) args.push('--negative', c.negative);
  if (c.w !== undefined && c.h !== undefined) args.push('--width', String(c.w), '--height', String(c.h));
  if (c.kind !== 'txt2img') args.push('--init-image', join(REFERENCES, 'init_image.png'));
  if (c.strength !== undefined) args.push('--strength', String(c.strength));
  if (c.kind === 'inpaint') args.push('--mask', join(REFERENCES, 'mask.png'));
  return args;
}
