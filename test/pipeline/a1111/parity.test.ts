// Every AUTOMATIC1111 reference case (test/fixtures/a1111: A1111 v1.10.1's own code, fp32) reproduced with
// `compat: 'a1111'`, stage by stage: the sigmas, the prompt's chunks, the first noise draw, then the picture.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { CompVisSchedule, ldmAlphasCumprod } from '../../../src/pipeline/a1111/compvis.js';
import { ImageNoise } from '../../../src/pipeline/a1111/image-noise.js';
import { kSamplerFor } from '../../../src/pipeline/a1111/k-samplers.js';
import { samplerSigmas } from '../../../src/pipeline/a1111/sampler-sigmas.js';
import { parseScheduleType } from '../../../src/pipeline/a1111/schedule-types.js';
import { convertCheckpoint } from '../../../src/convert/convert.js';
import { decodeImage, parseSamplerName, StableDiffusionPipeline, tokenizePrompt } from '../../../src/pipeline/index.js';
import { TINY_SD } from '../../support/checkpoint-files.js';
import { processTempDir } from '../../support/temp-dir.js';
import { tinyTokenizer } from '../tokenizer/fixtures.js';
import { maxAbsDifference, TOLERANCE } from '../harness.js';
import { A1111_CASES, initImagePath, oracleArray, type A1111Case } from './oracle.js';

const SD15_TRAINING = { beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000, beta_schedule: 'scaled_linear' };

function samplerOf(c: A1111Case) {
  const sampler = kSamplerFor(parseSamplerName(c.sampler));
  assert.ok(sampler, `${c.sampler} has a k-diffusion port`);
  return sampler;
}

describe('A1111 parity: the stages', () => {
  const schedule = new CompVisSchedule(ldmAlphasCumprod(SD15_TRAINING));

  for (const c of A1111_CASES) {
    it(`${c.id}: sigmas of ${c.sampler}, ${c.schedule_type}`, () => {
      const sigmas = samplerSigmas(samplerOf(c), parseScheduleType(c.schedule_type), c.steps, schedule);
      assert.equal(sigmas.length, c.sigmas.length);
      c.sigmas.forEach((expected, i) => {
        assert.ok(Math.abs((sigmas[i] ?? NaN) - expected) <= 1e-6 * Math.max(1, expected), `sigma ${i}: ${sigmas[i]} vs ${expected}`);
      });
    });

    it(`${c.id}: the first draw of each picture's generator (${c.rng})`, () => {
      const noise = new ImageNoise(c.seeds.map(BigInt), c.rng === 'GPU' ? 'gpu' : 'cpu', [4, c.h / 8, c.w / 8], 0n);
      const worst = maxAbsDifference(noise.next(), oracleArray(c.noise_file));
      assert.ok(worst <= (c.rng === 'CPU' ? 0 : 1e-5), `max |Δ| ${worst}`);
    });

    const single = c.conditioning.positive.every((p) => p.schedule.length === 1) && c.conditioning.negative.length === 1;
    if (single) {
      it(`${c.id}: the chunks and multipliers of the prompt and the negative prompt`, async () => {
        const tokenizer = await tinyTokenizer();
        const sides = [
          [c.prompt, c.conditioning.positive[0]?.schedule[0]],
          [c.negative, c.conditioning.negative[0]],
        ] as const;
        for (const [text, expected] of sides) {
          const { tokens } = tokenizePrompt(tokenizer, text, 'a1111', undefined, c.emphasis);
          assert.deepEqual(tokens.chunks.map((chunk) => [...chunk]), expected?.chunks.map((chunk) => chunk.tokens));
          assert.deepEqual(
            tokens.weights.map((w) => [...w]),
            expected?.chunks.map((chunk) => chunk.multipliers.map(Math.fround)),
          );
        }
      });
    }
  }
});

describe('A1111 parity: the pictures', () => {
  const dir = processTempDir();
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    // Converted by dreamcord, the model offers the earlier text-encoder layers that clip skip reads.
    await convertCheckpoint(TINY_SD, join(dir, 'tiny-sd'), { dtype: 'fp32' });
    pipeline = await StableDiffusionPipeline.load(join(dir, 'tiny-sd'), { provider: 'cpu' });
  });

  for (const c of A1111_CASES.filter((x) => x.id !== 't2i_prompt_edit')) {
    it(`${c.id}: the picture within ${TOLERANCE}`, async (t) => {
      const init = initImagePath(c);
      const decoded = init === undefined ? undefined : await decodeImage(readFileSync(init), { maxBytes: 1 << 20, maxPixels: 1 << 20 });
      const result = await pipeline.generate({
        compat: 'a1111',
        prompt: c.prompt,
        negativePrompt: c.negative,
        seed: c.seed,
        steps: c.steps,
        cfg: c.cfg,
        width: c.w,
        height: c.h,
        count: c.n,
        sampler: c.sampler,
        scheduleType: c.schedule_type,
        rng: c.rng === 'GPU' ? 'gpu' : 'cpu',
        clipSkip: c.clip_skip,
        emphasis: c.emphasis,
        ensd: c.eta_noise_seed_delta,
        ...(decoded ? { initImage: decoded.image, strength: c.strength ?? undefined } : {}),
      });
      assert.deepEqual(result.images.map((image) => Number(image.seed)), c.seeds);
      const actual = new Float32Array(result.images.flatMap((image) => [...image.image.data]));
      const worst = maxAbsDifference(actual, oracleArray(c.output_file));
      assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
      t.diagnostic(`${c.id}: max |Δ| = ${worst.toExponential(2)}`);
    });
  }
});
