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

  it("reads an SDXL embedding: clip_l for the first encoder, clip_g for the second, as many vectors of each", async () => {
    const file = join(tempDir(), 'xl.safetensors');
    writeSafetensors(file, [
      { name: 'clip_g', dtype: 'F32', shape: [2, 3], data: f32([1, 2, 3, 4, 5, 6]) },
      { name: 'clip_l', dtype: 'F32', shape: [2, 2], data: f32([7, 8, 9, 10]) },
    ]);
    const { embedding } = await readEmbedding(file);
    assert.deepEqual(
      [embedding.name, embedding.count, Array.from(embedding.vectors), Array.from(embedding.secondVectors ?? [])],
      ['xl', 2, [7, 8, 9, 10], [1, 2, 3, 4, 5, 6]],
    );
  });

  it('refuses pickles, half SDXL embeddings and files that are not embeddings, each saying why', async () => {
    const dir = tempDir();
    const pickle = join(dir, 'old.pt');
    writeFileSync(pickle, 'not read');
    await assert.rejects(readEmbedding(pickle), /old\.pt is a PyTorch pickle \(\.pt\), which runs code when loaded; use the \.safetensors version/);
    const half = join(dir, 'half.safetensors');
    writeSafetensors(half, [{ name: 'clip_l', dtype: 'F32', shape: [1, 2], data: f32([0, 0]) }]);
    await assert.rejects(readEmbedding(half), (error: unknown) => isNetworkError(error, 'NOT_A_NETWORK') && /half\.safetensors is an SDXL embedding without clip_g/.test(error.message));
    const uneven = join(dir, 'uneven.safetensors');
    writeSafetensors(uneven, [
      { name: 'clip_g', dtype: 'F32', shape: [1, 2], data: f32([0, 0]) },
      { name: 'clip_l', dtype: 'F32', shape: [2, 1], data: f32([0, 0]) },
    ]);
    await assert.rejects(readEmbedding(uneven), /clip_l holds 2 vectors and clip_g 1; an SDXL embedding has as many of each/);
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
