// Every AUTOMATIC1111 reference case (test/fixtures/a1111: A1111 v1.10.1's own code, fp32) reproduced with
// `compat: 'a1111'`, stage by stage: the sigmas, the prompt's chunks, the first noise draw, then the picture.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { CompVisSchedule, ldmAlphasCumprod } from '../../../src/pipeline/a1111/compvis.js';
import { ImageNoise } from '../../../src/pipeline/a1111/image-noise.js';
import { a1111SamplerFor, scheduledCalls } from '../../../src/pipeline/a1111/samplers.js';
import { a1111Timesteps } from '../../../src/pipeline/a1111/timestep-samplers.js';
import { promptSchedule, subPrompts } from '../../../src/pipeline/a1111/prompt-schedule.js';
import { samplerSigmas } from '../../../src/pipeline/a1111/sampler-sigmas.js';
import { parseScheduleType } from '../../../src/pipeline/a1111/schedule-types.js';
import { generateCommand } from '../../../src/cli/generate.js';
import { PARAMETERS_KEYWORD, parseSamplerName, readPngText, tokenizePrompt } from '../../../src/pipeline/index.js';
import { TINY_SD } from '../../support/checkpoint-files.js';
import { processTempDir } from '../../support/temp-dir.js';
import { tinyTokenizer } from '../tokenizer/fixtures.js';
import { captureStream, maxAbsDifference, readF32, TOLERANCE } from '../harness.js';
import { A1111_CASES, initImagePath, oracleArray, type A1111Case, type A1111Schedule } from './oracle.js';

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const SD15_TRAINING = { beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000, beta_schedule: 'scaled_linear' };

function samplerOf(c: A1111Case) {
  const sampler = a1111SamplerFor(parseSamplerName(c.sampler));
  assert.ok(sampler, `${c.sampler} has an A1111 port`);
  return sampler;
}

describe('A1111 parity: the stages', () => {
  const schedule = new CompVisSchedule(ldmAlphasCumprod(SD15_TRAINING));

  for (const c of A1111_CASES) {
    it(`${c.id}: ${c.timesteps ? 'timesteps' : 'sigmas'} of ${c.sampler}, ${c.schedule_type}`, () => {
      const sampler = samplerOf(c);
      if (sampler.family === 'timesteps') {
        assert.deepEqual(a1111Timesteps(c.steps), c.timesteps);
        return;
      }
      const sigmas = samplerSigmas(sampler, parseScheduleType(c.schedule_type), c.steps, schedule);
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

    it(`${c.id}: the AND sub-prompts and prompt-editing schedules of the prompt and the negative prompt`, () => {
      const calls = scheduledCalls(samplerOf(c), c.steps);
      const schedule = (text: string) => promptSchedule(text, calls).map(({ endAt, text: t }) => ({ endAt, text: t }));
      const expected = (entries: readonly A1111Schedule[]) => entries.map((e) => ({ endAt: e.end_at_step, text: e.text }));
      assert.deepEqual(
        subPrompts(c.prompt).map(({ text, weight }) => ({ weight, schedule: schedule(text) })),
        c.conditioning.positive.map((p) => ({ weight: p.weight, schedule: expected(p.schedule) })),
      );
      assert.deepEqual(schedule(c.negative), expected(c.conditioning.negative));
    });

    it(`${c.id}: the chunks and multipliers of every scheduled text`, async () => {
      const tokenizer = await tinyTokenizer();
      const entries = [...c.conditioning.positive.flatMap((p) => p.schedule), ...c.conditioning.negative];
      for (const entry of entries) {
        const { tokens } = tokenizePrompt(tokenizer, entry.text, 'a1111', undefined, c.emphasis);
        assert.deepEqual(tokens.chunks.map((chunk) => [...chunk]), entry.chunks.map((chunk) => chunk.tokens));
        assert.deepEqual(
          tokens.weights.map((w) => [...w]),
          entry.chunks.map((chunk) => chunk.multipliers.map(Math.fround)),
        );
      }
    });
  }
});

describe('A1111 parity: `dreamcord generate --infotext` on each pasted block', () => {
  const dir = processTempDir();
  before(() => {
    // The checkpoint, converted once into this cache: it offers the text-encoder layers clip skip reads, and its
    // manifest gives the infotext A1111's model hash.
    process.env.MODEL_CACHE_DIR = join(dir, 'cache');
  });

  for (const c of A1111_CASES) {
    it(`${c.id}: the picture within ${TOLERANCE}, and the PNG's parameters as A1111 wrote them`, async (t) => {
      const block = join(dir, `${c.id}.txt`);
      writeFileSync(block, c.infotexts[0] ?? '');
      const raw = join(dir, `${c.id}.f32`);
      const out = join(dir, `${c.id}.png`);
      const args = ['--infotext', block, '--model', TINY_SD, '--ep', 'cpu', '--raw', raw, '--out', out];
      if (c.n > 1) args.push('--count', String(c.n));
      const init = initImagePath(c);
      if (init !== undefined) args.push('--init-image', init);
      const stderr = captureStream();
      await generateCommand.run(args, { stdout: captureStream(), stderr });
      assert.doesNotMatch(stderr.text, /not honoured/);
      const worst = maxAbsDifference(readF32(raw), oracleArray(c.output_file));
      assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
      t.diagnostic(`${c.id}: max |Δ| = ${worst.toExponential(2)}`);

      const pngs = c.n > 1 ? c.seeds.map((_, i) => join(dir, `${c.id}-${i + 1}.png`)) : [out];
      pngs.forEach((png, i) => {
        const written = readPngText(readFileSync(png))[PARAMETERS_KEYWORD] ?? '';
        const expected = (c.infotexts[i] ?? '').replace(/Version: v1\.10\.1$/, `Version: dreamcord ${VERSION}`);
        assert.equal(written, expected);
      });
    });
  }
});
