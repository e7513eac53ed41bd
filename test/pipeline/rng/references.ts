// Loads the `rng` references (test/fixtures, from diffusers' reference run) and the extra draws measured with torch
// on an H100 (torch-h100.json beside this file), and compares draws with them.
import { readFileSync } from 'node:fs';

const fixtures = new URL('../../fixtures/references/', import.meta.url);

/** One `rng` case of references.json: a first draw and a second one from the same generator. */
export interface RngReference {
  readonly device: 'cpu' | 'cuda';
  readonly seed: number;
  readonly shape: number[];
  readonly file: string;
  readonly next_shape: number[];
  readonly next_file: string;
}

/** A run of torch-h100.json: successive draws from one generator; big draws keep only `values` at `indices`. */
export interface MeasuredRun {
  readonly device: 'cpu' | 'cuda';
  readonly seed: string;
  readonly draws: readonly { shape: number[]; indices?: number[]; values: number[] }[];
}

export function rngReferences(): RngReference[] {
  const all = JSON.parse(readFileSync(new URL('references.json', fixtures), 'utf8')) as { rng: RngReference[] };
  return all.rng;
}

export function readFloat32(file: string): Float32Array {
  const bytes = readFileSync(new URL(file, fixtures));
  const values = new Float32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  return values;
}

export function measuredRuns(): MeasuredRun[] {
  const data = JSON.parse(readFileSync(new URL('torch-h100.json', import.meta.url), 'utf8')) as { runs: MeasuredRun[] };
  return data.runs;
}

/** The values of `draw` at the measured indices (all of them when the run kept every value). */
export function pick(draw: Float32Array, indices: readonly number[] | undefined): Float32Array {
  return indices === undefined ? draw : Float32Array.from(indices, (i) => draw[i] ?? Number.NaN);
}

/** The first index where `actual` and `expected` differ in their float32 bits, or -1. */
export function firstBitMismatch(actual: Float32Array, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Math.min(actual.length, expected.length);
  const want = Float32Array.from(expected);
  const actualBits = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const expectedBits = new Uint32Array(want.buffer);
  return actualBits.findIndex((bits, i) => bits !== expectedBits[i]);
}

/** Largest `|actual − expected| / max(1, |expected|)`: relative error, absolute below 1. */
export function worstError(actual: Float32Array, expected: ArrayLike<number>): number {
  let worst = actual.length === expected.length ? 0 : Infinity;
  for (let i = 0; i < actual.length; i++) {
    const want = expected[i] ?? Number.NaN;
    const error = Math.abs((actual[i] ?? Number.NaN) - want) / Math.max(1, Math.abs(want));
    worst = Number.isNaN(error) ? Infinity : Math.max(worst, error);
  }
  return worst;
}
