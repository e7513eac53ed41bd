// `npm run bench -- convert`: a full-size SD 1.5 single-file checkpoint (the real shapes: 860 M UNet, 123 M text
// encoder, 84 M VAE parameters; random fp16 weights, written tensor by tensor) converted to fp16 ONNX in a child
// process, whose time and peak resident memory are printed. Targets: ≤ 60 s and ≤ 2.5 GB on a 2-core machine.
// The GPU bench's SDXL checkpoint (`--family sdxl`: 2.57 B UNet parameters, 7 GB) is written here the same way.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSafetensors } from '../test/support/safetensors-writer.js';
import { elementCount, sd15Layout, type LayoutEntry } from '../test/support/sd15-layout.js';
import { sdxlLayout } from '../test/support/sdxl-layout.js';

const OUT = fileURLToPath(new URL('../bench-out/convert/', import.meta.url));
const CHILD = fileURLToPath(new URL('./convert-child.ts', import.meta.url));

/**
 * Random fp16 values of magnitude 2^-6 … 2^-5, either sign: exponent bits fixed, sign and mantissa random (no
 * NaN, no infinity), two values per 32-bit word so that 1 G values take seconds.
 */
function fillRandomHalves(target: Buffer): void {
  randomFillSync(target);
  const words = new Uint32Array(target.buffer, target.byteOffset, target.byteLength >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = (((words[i] ?? 0) & 0x83ff83ff) | 0x24002400) >>> 0;
}

/** Writes `layout` as a single-file checkpoint of random fp16 weights, and says how big it came out. */
export function writeRandomCheckpoint(path: string, layout: readonly LayoutEntry[]): void {
  const started = Date.now();
  writeSafetensors(
    path,
    layout.map(({ name, shape }) => ({ name, dtype: 'F16', shape, data: fillRandomHalves })),
    { format: 'pt' },
  );
  const parameters = layout.reduce((sum, { shape }) => sum + elementCount(shape), 0);
  const gb = (statSync(path).size / 1e9).toFixed(2);
  console.log(`wrote ${path}: ${(parameters / 1e6).toFixed(1)} M parameters, ${gb} GB, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** The model families the benchmarks have a full-size random checkpoint of. */
export type BenchFamily = 'sd15' | 'sdxl';

const LAYOUTS: Record<BenchFamily, () => LayoutEntry[]> = { sd15: () => sd15Layout(), sdxl: () => sdxlLayout() };

/** The benchmark's full-size random checkpoint of `family` (default SD 1.5), written the first time it is asked for. */
export function ensureBenchCheckpoint(family: BenchFamily = 'sd15'): string {
  mkdirSync(OUT, { recursive: true });
  const checkpoint = join(OUT, `${family}-random-fp16.safetensors`);
  if (!existsSync(checkpoint)) writeRandomCheckpoint(checkpoint, LAYOUTS[family]());
  return checkpoint;
}

export async function benchConvert(): Promise<void> {
  const checkpoint = ensureBenchCheckpoint();
  const target = join(OUT, 'sd15-onnx-fp16');
  rmSync(target, { recursive: true, force: true });
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, checkpoint, target, 'fp16'], {
    maxBuffer: 1024 * 1024,
  });
  const result = JSON.parse(stdout) as { seconds: number; hashSeconds: number; maxRssMb: number; bytes: number };
  console.log(
    `convert SD 1.5 → fp16 ONNX: ${result.seconds.toFixed(1)} s (of which sha256 of the source ${result.hashSeconds.toFixed(1)} s), ` +
      `peak RSS ${(result.maxRssMb / 1024).toFixed(2)} GB, output ${(result.bytes / 1e9).toFixed(2)} GB ` +
      `(load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores: other work slows it)`,
  );
}
