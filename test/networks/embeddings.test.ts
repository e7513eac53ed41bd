// Issue 18: embedding files as people share them, read or refused with a sentence that says why.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { embeddingHashes, isNetworkError, readEmbedding, readEmbeddingFolder } from '../../src/networks/index.js';
import { TINY_LORA, TINYTOK } from '../support/checkpoint-files.js';
import { writeSafetensors } from '../support/safetensors-writer.js';
import { tempDir } from '../support/temp-dir.js';

const f32 = (values: readonly number[]) => new Uint8Array(Float32Array.from(values).buffer);

describe('reading textual-inversion embeddings', () => {
  it("reads A1111's tinytok: 2 vectors of 16, named by the file, with A1111's 12-digit short hash", async () => {
    const { embedding, hash } = await readEmbedding(TINYTOK);
    assert.equal(embedding.name, 'tinytok');
    assert.equal(embedding.count, 2);
    assert.equal(embedding.vectors.length, 32);
    assert.match(hash, /^[0-9a-f]{12}$/);
    assert.equal(embeddingHashes([{ embedding, hash, file: TINYTOK }])(['tinytok']), `tinytok: ${hash}`);
  });

  it('reads a single-vector embedding stored as [width]', async () => {
    const file = join(tempDir(), 'one.safetensors');
    writeSafetensors(file, [{ name: 'emb_params', dtype: 'F32', shape: [3], data: f32([1, 2, 3]) }]);
    const { embedding } = await readEmbedding(file);
    assert.deepEqual([embedding.count, Array.from(embedding.vectors)], [1, [1, 2, 3]]);
  });

  it('refuses pickles, SDXL embeddings and files that are not embeddings, each saying why', async () => {
    const dir = tempDir();
    const pickle = join(dir, 'old.pt');
    writeFileSync(pickle, 'not read');
    await assert.rejects(readEmbedding(pickle), /old\.pt is a PyTorch pickle \(\.pt\), which runs code when loaded; use the \.safetensors version/);
    const sdxl = join(dir, 'xl.safetensors');
    writeSafetensors(sdxl, [
      { name: 'clip_g', dtype: 'F32', shape: [1, 2], data: f32([0, 0]) },
      { name: 'clip_l', dtype: 'F32', shape: [1, 2], data: f32([0, 0]) },
    ]);
    await assert.rejects(readEmbedding(sdxl), (error: unknown) => isNetworkError(error, 'UNSUPPORTED') && /SDXL embedding/.test(error.message));
    await assert.rejects(readEmbedding(TINY_LORA), (error: unknown) => isNetworkError(error, 'NOT_A_NETWORK') && /no emb_params \(it has lora_/.test(error.message));
    await assert.rejects(readEmbedding(join(dir, 'missing.safetensors')), (error: unknown) => isNetworkError(error, 'NOT_FOUND'));
  });

  it('reads a folder, leaving out what cannot be used with a sentence each, ignoring other files', async () => {
    const dir = tempDir();
    copyFileSync(TINYTOK, join(dir, 'tinytok.safetensors'));
    writeFileSync(join(dir, 'old.pt'), 'not read');
    writeFileSync(join(dir, 'tinytok.preview.png'), 'a picture');
    const { embeddings, problems } = await readEmbeddingFolder(dir);
    assert.deepEqual(embeddings.map((e) => e.embedding.name), ['tinytok']);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /old\.pt is a PyTorch pickle/);
    await assert.rejects(readEmbeddingFolder(join(dir, 'nope')), /Cannot read the embeddings folder/);
  });
});
