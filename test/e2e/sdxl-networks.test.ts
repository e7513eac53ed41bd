// Issue 16 through the bot, on an SDXL checkpoint: an SDXL LoRA called by its tag, an SD 1.x LoRA refused with the
// reason, and an SDXL embedding (clip_l + clip_g) called by its name.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseInfotext, readPngText } from '../../src/pipeline/image/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { TINY_LORA, TINY_SDXL } from '../support/checkpoint-files.js';
import { writeSafetensors } from '../support/safetensors-writer.js';
import { writeSdxlLora } from '../support/sdxl-lora.js';
import { processTempDir } from '../support/temp-dir.js';

describe('/imagine with SDXL LoRAs and embeddings', () => {
  let bot: BotHarness;
  before(async () => {
    const dir = processTempDir();
    const loras = join(dir, 'loras');
    const embeddings = join(dir, 'embeddings');
    mkdirSync(loras);
    mkdirSync(embeddings);
    writeSdxlLora(TINY_SDXL, join(loras, 'xl-lora.safetensors'), { rank: 4, seed: 16, spread: 0.5 });
    copyFileSync(TINY_LORA, join(loras, 'tiny-lora.safetensors'));
    // Two vectors per encoder (tiny-sdxl's encoders are 8 wide).
    const vectors = new Uint8Array(Float32Array.from({ length: 16 }, (_, i) => Math.cos(i)).buffer);
    writeSafetensors(join(embeddings, 'xltok.safetensors'), [
      { name: 'clip_g', dtype: 'F32', shape: [2, 8], data: vectors },
      { name: 'clip_l', dtype: 'F32', shape: [2, 8], data: vectors },
    ]);
    const env = { MODEL_DIR: TINY_SDXL, MODEL_CACHE_DIR: join(dir, 'cache'), LORA_DIR: loras, EMBEDDINGS_DIR: embeddings };
    bot = await startBot({ env });
  });
  after(() => bot.stop());

  const parametersOf = (bytes: Uint8Array | undefined) => parseInfotext(readPngText(bytes ?? new Uint8Array()).parameters ?? '');

  it('merges an SDXL LoRA a prompt calls and names it with its hash', { timeout: 120_000 }, async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse <lora:xl-lora:0.8>', seed: '5', ...FAST } });
    const result = await run.waitForOriginal((message) => message.attachments.length > 0, 90_000);
    assert.match(parametersOf(result.attachments[0]?.bytes).extra?.['Lora hashes'] ?? '', /^xl-lora: [0-9a-f]{12}$/);
    assert.equal(result.embeds[0]?.fields?.find((f) => f.name === 'LoRAs')?.value, 'xl-lora 0.8');
  });

  it('refuses an SD 1.x LoRA on the SDXL model, telling the member why', { timeout: 120_000 }, async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse <lora:tiny-lora:1>', ...FAST } });
    const failed = await run.waitForOriginal((message) => /cannot be used/.test(message.content), 90_000);
    assert.match(failed.content, /A LoRA of this prompt cannot be used: tiny-lora\.safetensors is a LoRA for SD 1\.x \/ 2\.x models; this model is SDXL\./);
    assert.deepEqual(bot.fake.violations, []);
  });

  it('calls an SDXL embedding by its name and names it with its hash in the PNG', { timeout: 120_000 }, async () => {
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a photo of xltok', seed: '9', ...FAST } });
    const result = await run.waitForOriginal((message) => message.attachments.length > 0, 90_000);
    assert.match(parametersOf(result.attachments[0]?.bytes).extra?.['TI hashes'] ?? '', /^xltok: [0-9a-f]{12}$/);
    assert.equal(result.embeds[0]?.fields?.find((f) => f.name === 'Embeddings')?.value, 'xltok');
  });
});
