// Issue 15, direct use: MODEL_DIR names a .safetensors checkpoint. The real process converts it once into
// MODEL_CACHE_DIR, logging progress before any slash command is registered; the next start converts nothing; a
// file that is no model stops the bot with one line.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { launch, startBotProcess } from '../support/bot-process.js';
import { TINY_LORA, TINY_SD } from '../support/checkpoint-files.js';
import { FakeDiscord } from '../support/fake-discord/index.js';
import { processTempDir } from '../support/temp-dir.js';

const message = (line: Record<string, unknown>) => String(line['msg']);

describe('a checkpoint as MODEL_DIR', () => {
  const fakes: FakeDiscord[] = [];
  after(async () => {
    for (const fake of fakes) await fake.stop();
  });

  it('converts on the first start before registering commands, and reuses the conversion on the next', { timeout: 120_000 }, async () => {
    const fake = await FakeDiscord.start();
    fakes.push(fake);
    const dir = processTempDir();
    const options = {
      fake,
      storeUrl: `sqlite://${join(dir, 'store.sqlite')}`,
      modelDir: TINY_SD,
      env: { MODEL_CACHE_DIR: join(dir, 'cache') },
    };
    const first = await startBotProcess(options);
    const said = first.logs.map(message);
    const converting = said.indexOf('converting the checkpoint to ONNX (once)');
    const registered = said.indexOf('slash commands registered');
    assert.ok(converting >= 0 && registered > converting, said.join(' | '));
    const progress = first.logs.filter((line) => message(line) === 'converting the checkpoint');
    assert.ok(progress.length >= 3, 'progress is logged as it goes');
    assert.ok(progress.every((line) => said.indexOf('converting the checkpoint') < registered && typeof line['percent'] === 'number'));
    assert.ok(said.indexOf('checkpoint converted') < registered);
    assert.ok(fake.commands(fake.guild).some((command) => command.name === 'imagine'));
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);

    const second = await startBotProcess(options);
    const again = second.logs.map(message);
    assert.ok(!again.some((m) => m.startsWith('converting')), again.join(' | '));
    const cached = second.logs.find((line) => message(line) === 'using the cached conversion');
    assert.ok(cached, again.join(' | '));
    console.log(`# cached start: model found in ${String(cached['ms'])} ms`);
    // Results name the checkpoint, not its cache folder (and carry its short hash: test/generator/model-label).
    const loaded = second.logs.find((line) => message(line) === 'model loaded' && 'model' in line);
    assert.equal(loaded?.['model'], 'tiny-sd');
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });

  it('stops with one clear line when MODEL_DIR is a LoRA', { timeout: 60_000 }, async () => {
    const fake = await FakeDiscord.start();
    fakes.push(fake);
    const dir = processTempDir();
    const bot = launch({ fake, storeUrl: `sqlite://${join(dir, 'store.sqlite')}`, modelDir: TINY_LORA, env: { MODEL_CACHE_DIR: join(dir, 'cache') } });
    assert.equal((await bot.exited).code, 1);
    const lines = bot.output().trim().split('\n').filter((line) => !line.startsWith('{'));
    assert.deepEqual(lines, [
      'dreamcord: MODEL_DIR cannot be used: tiny-lora.safetensors looks like a LoRA, not a checkpoint. ' +
        'Use a full Stable Diffusion model (usually 2–7 GB) as the model; LoRAs are applied to one.',
    ]);
    assert.equal(fake.commands(fake.guild).length, 0);
  });
});
