// Issue 16: a model's first-use conversion runs on a thread of its own, so the bot goes on answering other members
// meanwhile (test/convert/conversion-thread.test.ts: the same results and errors as on the bot's thread).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { writeRandomCheckpoint } from '../../bench/convert.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { TINY_SD } from '../support/checkpoint-files.js';
import { SDXL_REDUCED, sdxlLayout } from '../support/sdxl-layout.js';
import { processTempDir } from '../support/temp-dir.js';

describe('conversion off the bot’s thread', () => {
  let bot: BotHarness;
  before(async () => {
    const dir = processTempDir();
    const models = join(dir, 'models');
    mkdirSync(models);
    // An SDXL checkpoint at reduced widths (76 MB): its conversion takes a second or more here.
    writeRandomCheckpoint(join(models, 'wide.safetensors'), sdxlLayout(SDXL_REDUCED));
    copyFileSync(TINY_SD, join(models, 'tiny.safetensors'));
    bot = await startBot({ env: { MODEL_DIR: '', MODELS_DIR: models, MODEL_CACHE_DIR: join(dir, 'cache') } });
  });
  after(() => bot.stop());

  const logged = (message: string) => bot.logs.some((line) => line['msg'] === message);

  it('answers another member’s command while a model converts', { timeout: 240_000 }, async (t) => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const job = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse', model: 'wide', seed: '1', ...FAST } });
    while (!logged('converting the checkpoint to ONNX (once)')) await new Promise((resolve) => setTimeout(resolve, 5));
    const other = bot.fake.createMember({ username: 'other' });
    const reply = await bot.fake.sendCommand({ name: 'queue', user: other }).waitForOriginal();
    assert.ok(!logged('checkpoint converted'), 'the other member was answered only after the conversion');
    assert.ok(reply.content.length > 0);
    const result = await job.waitForOriginal((m) => m.attachments.length > 0, 180_000);
    delay.disable();
    t.diagnostic(`event loop delay during the conversion and the job: max ${(delay.max / 1e6).toFixed(0)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms`);
    assert.equal(result.attachments.length, 1);
    assert.ok(logged('checkpoint converted'));
  });
});
