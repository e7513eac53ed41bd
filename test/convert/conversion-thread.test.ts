// Issue 16: prepareModel on a thread of its own gives what it gives on the caller's thread: the same folder, the
// progress and the cache, and the same errors with their codes and messages.
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCheckpointError } from '../../src/checkpoint/index.js';
import { prepareModelOffThread } from '../../src/convert/conversion-thread.js';
import { prepareModel } from '../../src/convert/model-cache.js';
import { TINY_LORA, TINY_SD } from '../support/checkpoint-files.js';
import { tempDir } from '../support/temp-dir.js';

describe('prepareModel off the thread', () => {
  it('converts once with progress on the caller’s thread, then finds the conversion in the cache', async () => {
    const cacheDir = tempDir();
    const events: string[] = [];
    const first = await prepareModelOffThread(TINY_SD, {
      cacheDir,
      dtype: 'fp32',
      onConvert: (source) => events.push(`convert ${source}`),
      onProgress: ({ component }) => (events.includes(component) ? undefined : events.push(component)),
    });
    assert.equal(first.converted, true);
    assert.deepEqual(events.slice(0, 1), [`convert ${TINY_SD}`]);
    for (const component of ['text_encoder', 'unet', 'vae_decoder']) assert.ok(events.includes(component), component);
    const again = await prepareModelOffThread(TINY_SD, { cacheDir, dtype: 'fp32' });
    assert.deepEqual(again, { ...first, converted: false });
    assert.deepEqual(await prepareModel(TINY_SD, { cacheDir, dtype: 'fp32' }), again);
  });

  it('fails with the errors of the caller’s thread: the same class, code, file and message', async () => {
    const dir = tempDir();
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, readFileSync(TINY_SD).subarray(0, 200_000));
    for (const source of [cut, TINY_LORA, join(dir, 'missing.safetensors')]) {
      const options = { cacheDir: join(dir, 'cache'), dtype: 'fp32' } as const;
      const expected = await prepareModel(source, options).then(() => assert.fail(`${source} was prepared`), (error: unknown) => error);
      assert.ok(isCheckpointError(expected), String(expected));
      await assert.rejects(prepareModelOffThread(source, options), (error: unknown) => {
        assert.ok(isCheckpointError(error, expected.code));
        assert.deepEqual([error.file, error.message], [expected.file, expected.message]);
        return true;
      });
    }
  });
});
