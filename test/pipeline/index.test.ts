import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as pipeline from '../../src/pipeline/index.js';

describe('dreamcord/pipeline entry point', () => {
  it('exports the pipeline, the noise, the tokenizer, the samplers and the image helpers', () => {
    const expected = [
      'StableDiffusionPipeline',
      'PipelineError',
      'isPipelineError',
      'resolveRequest',
      'latentPreview',
      'parseProviderChoice',
      'createGenerator',
      'ClipTokenizer',
      'tokenizePromptPair',
      'applyPromptWeights',
      'createScheduler',
      'parseSamplerName',
      'samplerLabel',
      'img2imgTimesteps',
      'decodeImage',
      'toModelTensor',
      'fromModelOutput',
      'binarizeMask',
      'maskLuminance',
      'maskToLatent',
      'encodePng',
      'encodeGrid',
      'formatInfotext',
    ];
    for (const name of expected) assert.equal(typeof (pipeline as Record<string, unknown>)[name], 'function', name);
    assert.ok(pipeline.SCHEDULER_IDS.includes('euler_a'));
    assert.deepEqual(pipeline.EXECUTION_PROVIDERS, ['cuda', 'dml', 'coreml', 'webgpu', 'cpu']);
  });
});
