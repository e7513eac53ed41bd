/**
 * The scheduler reference loop of test/fixtures/README.md and helpers to compare a scheduler with the
 * reference data in test/fixtures/references (diffusers 0.40, torch 2.11, CPU, float32).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createGenerator } from '../../../src/pipeline/rng/index.js';
import type { RandomGenerator } from '../../../src/pipeline/rng/types.js';
import type { Scheduler, SchedulerConfig, SchedulerId } from '../../../src/pipeline/schedulers/types.js';

const REFERENCES = new URL('../../fixtures/references/', import.meta.url);

/** The latent shape of every scheduler and img2img reference case. */
export const LATENT_SHAPE = [1, 4, 8, 8] as const;

/** Tolerance of the final latents: max |actual − expected| / max |expected|. */
export const LATENT_TOLERANCE = 1e-5;

/** One `schedulers` entry of references.json. */
export interface SchedulerCase {
  readonly name: SchedulerId;
  /** The diffusers class that produced it. */
  readonly class: string;
  /** The model's SD 1.5 keys the class accepts, plus the variant's keys. */
  readonly config: SchedulerConfig;
  readonly steps: number;
  readonly seed: number;
  readonly init_noise_sigma: number;
  readonly timesteps: readonly number[];
  /** Empty for DDPM-type schedulers. */
  readonly sigmas: readonly number[];
  /** Final latents of the reference loop, relative to the references folder. */
  readonly final_file: string;
}

/** One `img2img` entry of references.json. */
export interface Img2ImgCase {
  readonly name: SchedulerId;
  readonly steps: number;
  readonly strength: number;
  /** The timesteps left after skipping the first ones. */
  readonly timesteps: readonly number[];
  /** `add_noise(clean, noise, timesteps[0])`, relative to the references folder. */
  readonly noised_file: string;
}

interface References {
  readonly schedulers: readonly SchedulerCase[];
  readonly img2img: readonly Img2ImgCase[];
}

let cached: References | undefined;

/** references.json (parsed once). */
export function loadReferences(): References {
  cached ??= JSON.parse(readFileSync(new URL('references.json', REFERENCES), 'utf8')) as References;
  return cached;
}

/** The `schedulers` cases of one scheduler id. */
export function schedulerCases(id: SchedulerId): readonly SchedulerCase[] {
  return loadReferences().schedulers.filter((c) => c.name === id);
}

/**
 * The reference cases of `id`, which must exist: an empty list would register no test, and a scheduler whose
 * fixtures went missing would pass unchecked.
 * @throws AssertionError naming `id` when the fixtures hold no case for it.
 */
export function requiredSchedulerCases(id: SchedulerId): readonly SchedulerCase[] {
  const cases = schedulerCases(id);
  assert.ok(cases.length > 0, `The fixtures hold no reference case for scheduler \`${id}\`: nothing would be checked.`);
  return cases;
}

/** A little-endian float32 file of the references folder (`bin/…`). */
export function readF32(file: string): Float32Array {
  const bytes = readFileSync(new URL(file, REFERENCES));
  const out = new Float32Array(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** max |actual − expected| / max |expected| (or the absolute difference when `expected` is all zero). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'length');
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] ?? NaN;
    const e = expected[i] ?? NaN;
    const diff = Math.abs(a - e);
    // NaN compares false: make it fail instead of vanishing from the maximum.
    maxDiff = diff > maxDiff || Number.isNaN(diff) ? diff : maxDiff;
    maxRef = Math.max(maxRef, Math.abs(e));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

/** Asserts element-wise agreement of schedules (timesteps, sigmas) within `tolerance`·max(1, |expected|). */
export function assertCloseList(
  actual: ArrayLike<number>,
  expected: readonly number[],
  what: string,
  tolerance = 1e-5,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  expected.forEach((e, i) => {
    const a = actual[i] ?? NaN;
    assert.ok(Math.abs(a - e) <= tolerance * Math.max(1, Math.abs(e)), `${what}[${i}]: got ${a}, expected ${e}`);
  });
}

const f32 = Math.fround;
const C03 = f32(0.3);
const C01 = f32(0.1);

/**
 * The fake UNet of the reference loop, `0.3·x·cos(t/300) + 0.1·sin(3x + t/97)`, with torch's float32
 * rounding of each operation (Python scalars become float32).
 */
export function fakeModel(x: Float32Array, timestep: number): Float32Array {
  const cos = f32(Math.cos(timestep / 300));
  const shift = f32(timestep / 97);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] ?? 0;
    const linear = f32(f32(C03 * v) * cos);
    const wave = f32(Math.sin(f32(f32(3 * v) + shift)));
    out[i] = linear + f32(C01 * wave);
  }
  return out;
}

/**
 * A generator that serves the stored first `randn([1,4,8,8])` draw of torch's CPU generator for `seed`
 * (0 or 42) and refuses further draws: enough for the deterministic samplers.
 */
export function fixtureNoise(seed: number): RandomGenerator {
  let drawn = false;
  return {
    randn(shape) {
      assert.deepEqual(shape, LATENT_SHAPE, 'fixture noise shape');
      assert.ok(!drawn, 'the fixture holds only the first draw; stochastic samplers need createGenerator');
      drawn = true;
      return readF32(`bin/rng_cpu_${seed}_1x4x8x8.f32`);
    },
  };
}

/**
 * The reference loop: `x = randn([1,4,8,8])·initNoiseSigma`, then for each timestep
 * `x = step(fakeModel(scaleModelInput(x, t), t), t, x)`; ancestral noise continues from the same generator.
 * Returns the final latents.
 *
 * @param generator - defaults to {@link fixtureNoise} of `seed` (deterministic samplers only).
 */
export function runReferenceLoop(
  scheduler: Scheduler,
  steps: number,
  seed: number,
  generator: RandomGenerator = fixtureNoise(seed),
): Float32Array {
  scheduler.setTimesteps(steps);
  const sigma = f32(scheduler.initNoiseSigma);
  const x = generator.randn(LATENT_SHAPE).map((v) => f32(v * sigma));
  for (const t of scheduler.timesteps) {
    const output = fakeModel(scheduler.scaleModelInput(x, t), t);
    scheduler.step(output, t, x, generator);
  }
  return x;
}

/**
 * Runs one reference case and asserts its timesteps, sigmas, `initNoiseSigma` and final latents.
 * Returns the relative error of the final latents, for reporting.
 */
export function checkSchedulerCase(c: SchedulerCase, scheduler: Scheduler, generator?: RandomGenerator): number {
  const latents = runReferenceLoop(scheduler, c.steps, c.seed, generator);
  assertCloseList(scheduler.timesteps, c.timesteps, 'timesteps');
  assertCloseList(scheduler.sigmas, c.sigmas, 'sigmas');
  assertCloseList([scheduler.initNoiseSigma], [c.init_noise_sigma], 'initNoiseSigma');
  const error = relativeError(latents, readF32(c.final_file));
  assert.ok(error <= LATENT_TOLERANCE, `final latents: relative error ${error} > ${LATENT_TOLERANCE}`);
  return error;
}

/**
 * Registers one test per reference case of `id` (top level or inside a `describe`) that runs
 * {@link checkSchedulerCase} on `create(case)`, with ancestral noise from torch's CPU generator of the case's seed
 * when `noise` is set (else the fixture's single draw).
 *
 * @param title - the test name of a case; by default "`id`: N steps, seed S match diffusers".
 */
export function testReferenceCases(
  id: SchedulerId,
  create: (c: SchedulerCase) => Scheduler,
  options: { readonly noise?: boolean; readonly title?: (c: SchedulerCase) => string } = {},
): void {
  const { noise = false, title = (c: SchedulerCase) => `${id}: ${c.steps} steps, seed ${c.seed} match diffusers` } = options;
  for (const c of requiredSchedulerCases(id)) {
    test(title(c), (t) => {
      const error = checkSchedulerCase(c, create(c), noise ? createGenerator(c.seed, 'cpu') : undefined);
      t.diagnostic(`relative error of the final latents: ${error.toExponential(2)}`);
    });
  }
}
