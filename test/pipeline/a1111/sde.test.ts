// A1111's SDE samplers and their Brownian noise against test/fixtures/a1111-schedules/sde.json: numpy's own
// SeedSequence, torchsde's BrownianInterval (halfway tree) and k-diffusion's SDE samplers transcribed in numpy
// float32 (make_sde.py), with a stand-in for A1111's seeded draw and for the model. Checked: the seeds numpy
// derives, every model call's σ, every Brownian query, the result; then the samplers on the tiny model.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { BrownianNoise, seedSequenceState } from '../../../src/pipeline/a1111/brownian-tree.js';
import { kSamplerFor } from '../../../src/pipeline/a1111/k-samplers.js';
import { a1111Fields, parseSamplerName, StableDiffusionPipeline, type GenerateRequest } from '../../../src/pipeline/index.js';
import { secondPictureAlone, standInDenoiser } from './sampler-checks.js';

interface SdeCase {
  readonly sampler: string;
  readonly kind: 'txt2img' | 'img2img';
  readonly steps: number;
  readonly sigmas: readonly number[];
  readonly tree_bounds: readonly [number, number];
  readonly start: readonly number[];
  readonly calls: readonly number[];
  readonly queries: readonly (readonly [number, number])[];
  readonly result: readonly number[];
}

const fixture = JSON.parse(readFileSync('test/fixtures/a1111-schedules/sde.json', 'utf8')) as {
  shape: number[];
  seeds: number[];
  seed_sequences: { entropy: number; spawn_key: number[]; state: number[] }[];
  cases: SdeCase[];
};
const f32 = Math.fround;
/** One picture's share of the stand-in latents (`shape` is `[pictures, …]`). */
const imageSize = fixture.shape.slice(1).reduce((a, b) => a * b, 1);

/** make_sde.py's stand-in for A1111's `randn_local(seed, shape)`. */
const standInDraw = (seed: number): Float32Array => Float32Array.from({ length: imageSize }, (_, i) => f32(Math.sin((seed % 1000003) * 1e-3 + 0.37 * i)));

describe('A1111 SDE samplers against their numpy transcription', () => {
  it('derives the seeds numpy’s SeedSequence derives (pool size 24, spawn keys of the tree)', () => {
    for (const { entropy, spawn_key: key, state } of fixture.seed_sequences) {
      assert.deepEqual(seedSequenceState(BigInt(entropy), key.map(BigInt), 4), state, `entropy ${entropy}, spawn key ${key.join(',')}`);
    }
  });

  for (const c of fixture.cases) {
    it(`${c.sampler}, ${c.kind}, ${c.steps} steps: calls, Brownian queries and result`, async () => {
      const sampler = kSamplerFor(parseSamplerName(c.sampler));
      assert.ok(sampler);
      const [low, high] = c.tree_bounds;
      const tree = new BrownianNoise(low, high, fixture.seeds.map(BigInt), standInDraw);
      const queries: [number, number][] = [];
      const brownian = (sigma: number, next: number) => (queries.push([sigma, next]), tree.between(sigma, next));
      const calls: number[] = [];
      const sigmas = Float64Array.from(c.sigmas);
      const noDraws = () => assert.fail('the SDE samplers draw no noise from the image generators');
      const result = await sampler.sample(standInDenoiser(calls), Float32Array.from(c.start), sigmas, noDraws, { sigmaMin: NaN, sigmaMax: NaN, brownian });
      assert.equal(calls.length, c.calls.length, 'model calls');
      c.calls.forEach((expected, i) => assert.ok(Math.abs((calls[i] ?? NaN) - expected) <= 2e-6 * expected, `call ${i}: σ ${calls[i]} vs ${expected}`));
      assert.equal(queries.length, c.queries.length, 'Brownian queries');
      const worst = Math.max(...c.result.map((expected, i) => Math.abs((result[i] ?? NaN) - expected) / Math.max(1, Math.abs(expected))));
      assert.ok(worst <= 1e-5, `max relative |Δ| ${worst}`);
      assert.equal(sampler.modelCalls(sigmas), c.calls.length, 'announced calls');
    });
  }
});

describe('A1111 SDE samplers on the tiny model (compat a1111)', () => {
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
  });
  after(() => pipeline.dispose());
  const base = { prompt: 'a fox', compat: 'a1111', steps: 6, width: 64, height: 64 } as const satisfies GenerateRequest;

  for (const sampler of ['DPM++ SDE', 'DPM++ 2M SDE', 'DPM++ 2M SDE Heun', 'DPM++ 3M SDE']) {
    it(`${sampler}: reports its calls; picture 2 of a batch is its seed's picture alone (one Brownian tree per picture)`, async () => {
      const { progress, difference } = await secondPictureAlone(pipeline, { ...base, sampler });
      assert.deepEqual(progress.at(-1), [progress.length, progress.length]);
      assert.ok(difference < 1e-5, `max |Δ| ${difference}`);
      const other = await secondPictureAlone(pipeline, { ...base, sampler }, { seed: 7 });
      assert.ok(other.difference > 1e-3, 'the seed moves the noise');
    });
  }

  it('names them and their default schedules as A1111 does, without ENSD', () => {
    const fields = (sampler: string) =>
      a1111Fields({ kind: 'txt2img', steps: 6, prompt: 'a fox', negativePrompt: '', promptSyntax: 'a1111', compat: 'a1111', sampler: parseSamplerName(sampler), ensd: 31337 });
    assert.deepEqual(fields('DPM++ SDE'), { sampler: 'DPM++ SDE', scheduleType: 'Karras' });
    assert.deepEqual(fields('DPM++ 2M SDE'), { sampler: 'DPM++ 2M SDE', scheduleType: 'Exponential' });
    assert.deepEqual(fields('DPM++ 2M SDE Heun'), { sampler: 'DPM++ 2M SDE Heun', scheduleType: 'Exponential' });
    assert.deepEqual(fields('DPM++ 3M SDE'), { sampler: 'DPM++ 3M SDE', scheduleType: 'Exponential' });
  });
});
