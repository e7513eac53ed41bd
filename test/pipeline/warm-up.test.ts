import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StableDiffusionPipeline, type PipelineLogger } from '../../src/pipeline/index.js';

const MODEL = 'test/fixtures/tiny-sd';

/** The messages a load logs. */
async function loadMessages(warmUp?: boolean): Promise<string[]> {
  const messages: string[] = [];
  const log: PipelineLogger = (_level, message) => messages.push(message);
  const pipeline = await StableDiffusionPipeline.load(MODEL, { provider: 'cpu', log, ...(warmUp === undefined ? {} : { warmUp }) });
  await pipeline.dispose();
  return messages;
}

describe('warm-up at load', () => {
  it('runs one generation before the pipeline is ready when asked (the default on GPU providers)', async () => {
    const messages = await loadMessages(true);
    assert.ok(messages.indexOf('pipeline warmed up') >= 0);
    assert.ok(messages.indexOf('pipeline warmed up') < messages.indexOf('pipeline ready'));
  });

  it('is off by default on the CPU, where a first run costs nothing extra', async () => {
    const messages = await loadMessages();
    assert.equal(messages.includes('pipeline warmed up'), false);
    assert.ok(messages.includes('pipeline ready'));
  });
});
