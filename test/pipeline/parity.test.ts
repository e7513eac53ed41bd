// Every `pipelines` reference case of test/fixtures (diffusers 0.40, PyTorch, fp32, CPU) reproduced through the
// command line code path, compared value by value before 8-bit rounding.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateCommand } from '../../src/cli/generate.js';
import { tempDir } from '../support/temp-dir.js';
import { captureStream, maxAbsDifference, readF32 } from './harness.js';

const REFERENCES = 'test/fixtures/references';
/** The bound the issue sets; a correct implementation lands near 1e-6 on the CPU provider. */
const TOLERANCE = 2e-3;

interface PipelineCase {
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

const cases = (JSON.parse(readFileSync(join(REFERENCES, 'references.json'), 'utf8')) as { pipelines: PipelineCase[] })
  .pipelines;

/** Arguments of `dreamcord generate` for a reference case. */
function argsFor(c: PipelineCase, raw: string): string[] {
  const args = ['--model', join('test/fixtures', c.model), '--prompt', c.prompt, '--seed', String(c.seed)];
  args.push('--steps', String(c.steps), '--cfg', String(c.cfg), '--sampler', c.scheduler, '--count', String(c.n ?? 1));
  args.push('--rng', 'cpu', '--prompt-syntax', 'plain', '--ep', 'cpu', '--raw', raw);
  if (c.negative !== undefined) args.push('--negative', c.negative);
  if (c.w !== undefined && c.h !== undefined) args.push('--width', String(c.w), '--height', String(c.h));
  if (c.kind !== 'txt2img') args.push('--init-image', join(REFERENCES, 'init_image.png'));
  if (c.strength !== undefined) args.push('--strength', String(c.strength));
  if (c.kind === 'inpaint') args.push('--mask', join(REFERENCES, 'mask.png'));
  return args;
}

describe('parity with diffusers through `dreamcord generate`', () => {
  const dir = tempDir();
  for (const c of cases) {
    it(`${c.id}: ${c.kind} on ${c.model}, ${c.scheduler}, ${c.n ?? 1} image(s)`, async (t) => {
      const raw = join(dir, `${c.id}.f32`);
      const stderr = captureStream();
      await generateCommand.run(argsFor(c, raw), { stdout: captureStream(), stderr });
      const actual = readF32(raw);
      const expected = readF32(join(REFERENCES, c.output_file));
      assert.equal(actual.length, c.output_shape.reduce((a, b) => a * b, 1));
      const worst = maxAbsDifference(actual, expected);
      assert.ok(worst <= TOLERANCE, `max |Δ| ${worst} > ${TOLERANCE}`);
      assert.match(stderr.text, /on cpu: [\d.]+ ms\/step/);
      t.diagnostic(`${c.id}: max |Δ| = ${worst.toExponential(2)}`);
    });
  }
});
