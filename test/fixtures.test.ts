import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';

// The fixtures ship compressed (test/fixtures.tar.xz) and `npm test` unpacks them first (scripts/unpack-fixtures.mjs).
const root = new URL('./fixtures/', import.meta.url);

describe('test fixtures', () => {
  for (const model of ['tiny-sd', 'tiny-sd-fp16', 'tiny-sd-inpaint']) {
    it(`${model} has every component of the diffusers ONNX layout`, () => {
      for (const file of [
        'model_index.json',
        'scheduler/scheduler_config.json',
        'tokenizer/vocab.json',
        'tokenizer/merges.txt',
        'tokenizer/special_tokens_map.json',
        'text_encoder/model.onnx',
        'unet/model.onnx',
        'vae_encoder/model.onnx',
        'vae_decoder/model.onnx',
      ]) {
        const path = new URL(`${model}/${file}`, root);
        assert.ok(existsSync(path), `${model}/${file} is missing`);
        assert.ok(statSync(path).size > 0, `${model}/${file} is empty`);
      }
    });
  }

  it('every binary the references name exists with the size its shape implies', () => {
    const references = JSON.parse(readFileSync(new URL('references/references.json', root), 'utf8')) as Record<string, unknown>;
    const named: { file: string; shape?: number[] }[] = [];
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === 'object') {
        const entry = value as Record<string, unknown>;
        for (const [key, inner] of Object.entries(entry)) {
          if (typeof inner === 'string' && inner.startsWith('bin/')) {
            const shapeKey = key === 'next_file' ? 'next_shape' : key === 'output_file' ? 'output_shape' : key === 'file' ? 'shape' : undefined;
            const shape = shapeKey ? (entry[shapeKey] as number[] | undefined) : undefined;
            named.push({ file: inner, ...(shape ? { shape } : {}) });
          } else collect(inner);
        }
      }
    };
    collect(references);
    assert.ok(named.length > 100, `only ${named.length} reference files named`);
    for (const { file, shape } of named) {
      const size = statSync(new URL(`references/${file}`, root)).size;
      if (shape) assert.equal(size, 4 * shape.reduce((a, b) => a * b, 1), file);
      else assert.ok(size > 0 && size % 4 === 0, file);
    }
  });
});
