// How results name their model (issue 16): A1111's `Model` and `Model hash` in the infotext, from the label the
// start gives each model folder (a checkpoint's name and the first 10 hex digits of its sha256); an ONNX folder used
// as it is keeps its folder name and has no hash.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GenerationRequest } from '../../src/generator/request.js';
import { StableDiffusionGenerator } from '../../src/generator/sd-generator.js';
import { parseInfotext } from '../../src/pipeline/index.js';
import { TINY_REQUEST } from '../support/requests.js';

const MODEL = 'test/fixtures/tiny-sd';
const REQUEST: GenerationRequest = { ...TINY_REQUEST, steps: 1 };

async function infotextWith(labels?: Record<string, { name: string; hash?: string }>): Promise<{ model: string; parsed: ReturnType<typeof parseInfotext> }> {
  const generator = await StableDiffusionGenerator.load(MODEL, { provider: 'cpu', ...(labels ? { modelLabels: labels } : {}) });
  const result = await generator.generate(REQUEST, { signal: new AbortController().signal, onProgress: () => undefined });
  return { model: result.model, parsed: parseInfotext(result.images[0]?.parameters ?? '') };
}

describe('model labels', () => {
  it("names the model by its source and writes A1111's short hash", async () => {
    const { model, parsed } = await infotextWith({ [MODEL]: { name: 'my-model', hash: '0123456789' } });
    assert.equal(model, 'my-model');
    assert.equal(parsed.model, 'my-model');
    assert.equal(parsed.modelHash, '0123456789');
  });

  it('an unlabelled ONNX folder keeps its folder name and no hash', async () => {
    const { model, parsed } = await infotextWith();
    assert.equal(model, 'tiny-sd');
    assert.equal(parsed.model, 'tiny-sd');
    assert.equal(parsed.modelHash, undefined);
  });
});
