// Every `pipelines` reference case of test/fixtures (diffusers 0.40, PyTorch, fp32, CPU) reproduced through the
// command line code path, compared value by value before 8-bit rounding.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateCommand } from '../../src/cli/generate.js';
import { tempDir } from '../support/temp-dir.js';
import { argsFor, captureStream, maxAbsDifference, PIPELINE_CASES, readF32, REFERENCES, TOLERANCE } from './harness.js';

describe('parity with diffusers through `dreamcord generate`', () => {
  const dir = tempDir();
  for (const c of PIPELINE_CASES) {
    it(`${c.id}: ${c.kind} on ${c.model}, ${c.scheduler}, ${c.n ?? 1} image(s)`, async (t) => {
      const raw = join(dir, `${c.id}.f32`);
      const stderr = captureStream();
      await generateCommand.run(argsFor(c, raw, join('test/fixtures', c.model)), { stdout: captureStream(), stderr });
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
