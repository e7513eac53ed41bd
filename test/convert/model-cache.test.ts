import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCheckpointError, openCheckpoint } from '../../src/checkpoint/index.js';
import { prepareModel, type PrepareOptions } from '../../src/convert/model-cache.js';
import { readModelFolder } from '../../src/pipeline/models/model-folder.js';
import { tensorsOf, TINY_LORA, TINY_SD, TINY_SDXL } from '../support/checkpoint-files.js';
import { writeSafetensors } from '../support/safetensors-writer.js';
import { tempDir } from '../support/temp-dir.js';

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const writeJson = (file: string, value: unknown) => writeFileSync(file, JSON.stringify(value));

/**
 * Makes `dir`'s entry what a converter before the sampling markers were read left (session 10): the family's
 * scheduler config as it is for the file without markers, and a manifest without `sampling`.
 */
function makeLegacy(dir: string, familyConfig: Readonly<Record<string, unknown>>): void {
  const manifestFile = join(dir, 'dreamcord-conversion.json');
  const manifest = readJson(manifestFile);
  delete manifest['sampling'];
  writeJson(manifestFile, manifest);
  writeJson(join(dir, 'scheduler', 'scheduler_config.json'), familyConfig);
}

function options(cacheDir: string, conversions: string[]): PrepareOptions {
  return { cacheDir, dtype: 'fp32', onConvert: (source) => conversions.push(source) };
}

/** `source` (written by `write`) prepared once into a fresh cache, with the conversions seen. */
async function preparedOnce(name: string, write: (source: string) => void) {
  const dir = tempDir();
  const source = join(dir, name);
  write(source);
  const cache = join(dir, 'cache');
  const conversions: string[] = [];
  const first = await prepareModel(source, options(cache, conversions));
  return { source, cache, conversions, first };
}

describe('model cache', () => {
  it('converts a checkpoint once and reuses it on the next start without converting or reading it', async () => {
    const dir = tempDir();
    const source = join(dir, 'my model.safetensors');
    copyFileSync(TINY_SD, source);
    // Whole seconds: what utimes can set back exactly below.
    const time = new Date('2026-01-01T00:00:00Z');
    utimesSync(source, time, time);
    const cache = join(dir, 'cache');
    const conversions: string[] = [];
    const first = await prepareModel(source, options(cache, conversions));
    assert.equal(first.converted, true);
    assert.deepEqual(conversions, [source]);
    // The content hash comes along (A1111's `Model hash` is its first 10 digits), from the cache on a cached start.
    const sha256 = createHash('sha256').update(readFileSync(TINY_SD)).digest('hex');
    assert.equal(first.sha256, sha256);
    const second = await prepareModel(source, options(cache, conversions));
    assert.deepEqual(second, { dir: first.dir, converted: false, sha256 });
    assert.equal(conversions.length, 1);
    // The cached start trusts path + size + mtime and never reads the file: replace its content (same size, same
    // time) and it still answers from the cache. (Changing size or time is what a real edit or download does.)
    writeFileSync(source, Buffer.alloc(statSync(source).size, 0x20));
    utimesSync(source, time, time);
    assert.deepEqual(await prepareModel(source, options(cache, conversions)), { dir: first.dir, converted: false, sha256 });
  });

  it('re-hashes a touched file but finds its conversion by content; converts a changed one anew', async () => {
    const { source, cache, conversions, first } = await preparedOnce('model.safetensors', (path) => copyFileSync(TINY_SD, path));
    utimesSync(source, new Date(), new Date(Date.now() + 5000));
    assert.deepEqual(await prepareModel(source, options(cache, conversions)), { dir: first.dir, converted: false, sha256: first.sha256 });
    assert.equal(conversions.length, 1);
    // One weight changed (the last byte of the file): another model as far as the cache knows.
    const bytes = readFileSync(TINY_SD);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    writeFileSync(source, bytes);
    const changed = await prepareModel(source, options(cache, conversions));
    assert.equal(changed.converted, true);
    assert.notEqual(changed.dir, first.dir);
  });

  it('uses an ONNX folder as it is, and refuses a LoRA before hashing or writing anything', async () => {
    const cache = join(tempDir(), 'cache');
    assert.deepEqual(await prepareModel('test/fixtures/tiny-sd', options(cache, [])), { dir: 'test/fixtures/tiny-sd', converted: false });
    await assert.rejects(prepareModel(TINY_LORA, options(cache, [])), (e: unknown) => isCheckpointError(e, 'NOT_A_CHECKPOINT'));
    assert.throws(() => readdirSync(cache), /ENOENT/);
  });

  it('removes what a conversion killed long ago left behind, and spares one that may be under way', async () => {
    const cache = join(tempDir(), 'cache');
    const sha256 = createHash('sha256').update(readFileSync(TINY_SD)).digest('hex');
    const entry = `tiny-sd-${sha256.slice(0, 16)}-fp32`;
    const dead = join(cache, `.${entry}.partial-dead`);
    const recent = join(cache, `.${entry}.partial-live`);
    mkdirSync(dead, { recursive: true });
    mkdirSync(recent);
    const yesterday = new Date(Date.now() - 24 * 3600 * 1000);
    utimesSync(dead, yesterday, yesterday);
    const prepared = await prepareModel(TINY_SD, options(cache, []));
    assert.equal(prepared.dir, join(cache, entry));
    assert.deepEqual(readdirSync(cache).sort(), [`.${entry}.partial-live`, 'lookup', entry]);
  });

  it('does not use a cache entry whose manifest records other content', async () => {
    const dir = tempDir();
    const cache = join(dir, 'cache');
    const conversions: string[] = [];
    const first = await prepareModel(TINY_SD, options(cache, conversions));
    const manifestFile = join(first.dir, 'dreamcord-conversion.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { source: { sha256: string } };
    manifest.source.sha256 = '0'.repeat(64);
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const again = await prepareModel(TINY_SD, options(cache, conversions));
    assert.equal(again.converted, true);
    assert.equal(conversions.length, 2);
  });

  it("brings an SDXL v_pred/ztsnr file's entry converted before the markers were read up to date, without converting it", async () => {
    const markers = ['v_pred', 'ztsnr'].map((name) => ({ name, dtype: 'F32', shape: [0], data: new Uint8Array(0) }) as const);
    const { source, cache, conversions, first } = await preparedOnce('tiny-sdxl-v.safetensors', (path) => writeSafetensors(path, [...tensorsOf(TINY_SDXL), ...markers]));
    const marked = { prediction_type: 'v_prediction', rescale_betas_zero_snr: true };
    assert.deepEqual(readJson(join(first.dir, 'dreamcord-conversion.json'))['sampling'], marked, 'the manifest records the markers');
    makeLegacy(first.dir, openCheckpoint(TINY_SDXL).schedulerConfig);
    assert.equal(readModelFolder(first.dir).schedulerConfig['prediction_type'], 'epsilon', 'the entry as session 10 left it');
    const unetFile = join(first.dir, 'unet', 'model.onnx');
    const unetWritten = statSync(unetFile).mtimeMs;

    const again = await prepareModel(source, options(cache, conversions));
    assert.deepEqual(again, { ...first, converted: false });
    assert.equal(conversions.length, 1, 'not converted again');
    assert.equal(statSync(unetFile).mtimeMs, unetWritten);
    const { schedulerConfig } = readModelFolder(first.dir);
    assert.deepEqual([schedulerConfig['prediction_type'], schedulerConfig['rescale_betas_zero_snr']], ['v_prediction', true]);
    assert.deepEqual(schedulerConfig, { ...openCheckpoint(TINY_SDXL).schedulerConfig, ...marked }, 'the rest of the config kept');
    assert.deepEqual(readJson(join(first.dir, 'dreamcord-conversion.json'))['sampling'], marked);
  });

  it('uses an entry of before as it is, with a warning, when its sampling settings cannot be brought up to date', async () => {
    const markers = [{ name: 'v_pred', dtype: 'F32', shape: [0], data: new Uint8Array(0) }] as const;
    const { source, cache, conversions, first } = await preparedOnce('tiny-sdxl-v.safetensors', (path) => writeSafetensors(path, [...tensorsOf(TINY_SDXL), ...markers]));
    makeLegacy(first.dir, openCheckpoint(TINY_SDXL).schedulerConfig);
    // A config that can be neither read nor replaced: a directory where the file belongs. (A read-only cache, as a
    // GPU worker may share it, fails the same write; chmod would not show it here, as the tests may run as root.)
    const configFile = join(first.dir, 'scheduler', 'scheduler_config.json');
    rmSync(configFile);
    mkdirSync(join(configFile, 'in-the-way'), { recursive: true });
    const warnings: string[] = [];

    const again = await prepareModel(source, { ...options(cache, conversions), onWarning: (message) => warnings.push(message) });
    assert.deepEqual(again, { ...first, converted: false });
    assert.equal(conversions.length, 1, 'not converted again');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /Could not bring the sampling settings of the cached conversion .* up to date .*EISDIR/);
    assert.equal(readJson(join(first.dir, 'dreamcord-conversion.json'))['sampling'], undefined, 'the next start tries again');
  });

  it("records an unmarked file's entry of before as it is, found by content after a touch", async () => {
    const { source, cache, conversions, first } = await preparedOnce('model.safetensors', (path) => copyFileSync(TINY_SD, path));
    const familyConfig = openCheckpoint(TINY_SD).schedulerConfig;
    makeLegacy(first.dir, familyConfig);
    utimesSync(source, new Date(), new Date(Date.now() + 5000));
    assert.deepEqual(await prepareModel(source, options(cache, conversions)), { ...first, converted: false });
    assert.equal(conversions.length, 1);
    assert.deepEqual(readJson(join(first.dir, 'scheduler', 'scheduler_config.json')), familyConfig);
    assert.deepEqual(readJson(join(first.dir, 'dreamcord-conversion.json'))['sampling'], {});
  });

  it('caches the CUDA form apart from the portable one, always in fp16, and reuses each', async () => {
    const cache = join(tempDir(), 'cache');
    const conversions: string[] = [];
    const portable = await prepareModel(TINY_SD, options(cache, conversions));
    const cuda = await prepareModel(TINY_SD, { ...options(cache, conversions), target: 'cuda' });
    assert.equal(cuda.converted, true);
    assert.notEqual(cuda.dir, portable.dir);
    assert.match(cuda.dir, /-fp16-cuda$/);
    const manifest = JSON.parse(readFileSync(join(cuda.dir, 'dreamcord-conversion.json'), 'utf8')) as { dtype: string; target: string };
    assert.deepEqual([manifest.dtype, manifest.target], ['fp16', 'cuda']);
    const unet = readFileSync(join(cuda.dir, 'unet', 'model.onnx'));
    assert.ok(unet.includes('com.microsoft') && unet.includes('NhwcConv'));
    for (const target of ['portable', 'cuda'] as const) {
      const again = await prepareModel(TINY_SD, { ...options(cache, conversions), target });
      assert.deepEqual([again.dir, again.converted], [target === 'cuda' ? cuda.dir : portable.dir, false]);
    }
    assert.equal(conversions.length, 2);
  });
});
