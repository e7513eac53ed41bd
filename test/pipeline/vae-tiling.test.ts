// Tiled and sliced VAE decoding. The tiling is diffusers' `tiled_decode`, checked against a line-by-line numpy
// transcription of it (test/fixtures/vae-tiling/make_tiled_decode.py) on a stand-in decoder, then on the tiny model:
// a picture within one tile is decoded as it is, a larger one in tiles whose first crop is that tile's own decode.
// Slicing (one picture per VAE run, as every decode does) is checked bit for bit against a batch decode.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isPipelineError } from '../../src/pipeline/errors.js';
import { VaeDecoder } from '../../src/pipeline/models/vae-decoder.js';
import { estimateDecodeBytes, resolveVaeTiling, shouldTile, tiledDecode } from '../../src/pipeline/models/vae-tiling.js';
import { SessionFactory } from '../../src/pipeline/runtime/session-factory.js';
import { FloatInput, readFloats } from '../../src/pipeline/runtime/tensor.js';
import { StableDiffusionPipeline } from '../../src/pipeline/stable-diffusion.js';

interface OracleCase {
  readonly tileSize: number;
  readonly latentWidth: number;
  readonly latentHeight: number;
  readonly latents: string;
  readonly picture: string;
}
const ORACLE = JSON.parse(readFileSync('test/fixtures/vae-tiling/tiled-decode.json', 'utf8')) as {
  readonly mix: readonly (readonly number[])[];
  readonly cases: readonly OracleCase[];
};

function float32s(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** The oracle's stand-in decoder (see make_tiled_decode.py), in float64 rounded once to float32 as there. */
function standInDecoder(latents: Float32Array, width: number, height: number): Promise<Float32Array> {
  const [W, H] = [8 * width, 8 * height];
  const out = new Float32Array(3 * W * H);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let mixed = 0;
        for (let k = 0; k < 4; k++) mixed += (ORACLE.mix[c]?.[k] ?? 0) * (latents[(k * height + (y >> 3)) * width + (x >> 3)] ?? 0);
        out[(c * H + y) * W + x] = Math.tanh(mixed) + 0.05 * (y / H) - 0.03 * (x / W);
      }
    }
  }
  return Promise.resolve(out);
}

function worst(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((max, v, i) => Math.max(max, Math.abs(v - (b[i] ?? NaN))), 0);
}

describe('tiled VAE decode (diffusers tiled_decode)', () => {
  it('matches the numpy transcription of diffusers on the stand-in decoder', async () => {
    for (const c of ORACLE.cases) {
      const picture = await tiledDecode(float32s(c.latents), c.latentWidth, c.latentHeight, c.tileSize, standInDecoder);
      const expected = float32s(c.picture);
      assert.ok(worst(picture, expected) <= 1e-6, `tile ${c.tileSize}, latents ${c.latentWidth}×${c.latentHeight}: ${worst(picture, expected)}`);
    }
  });

  it('tiles when forced or when the estimate exceeds the budget, never within one tile', () => {
    const tiling = resolveVaeTiling({}, 512);
    assert.deepEqual(tiling, { mode: 'auto', tileSize: 512, budgetBytes: 4096 * 1024 * 1024 });
    // SD 1.5 at 512² decodes whole; at 2048² fp16 its estimate (≈ 12.9 GB) is over the 4 GiB budget.
    assert.equal(shouldTile(tiling, 64, 64, 2), false);
    assert.ok(estimateDecodeBytes(1024, 1024, 2) < tiling.budgetBytes);
    assert.equal(shouldTile(tiling, 128, 128, 2), false);
    assert.equal(shouldTile(tiling, 256, 256, 2), true);
    assert.equal(shouldTile({ ...tiling, mode: 'never' }, 256, 256, 2), false);
    assert.equal(shouldTile({ ...tiling, mode: 'always' }, 65, 64, 4), true);
    assert.equal(shouldTile({ ...tiling, mode: 'always' }, 64, 64, 4), false);
  });

  it('refuses a tiling it cannot honour, naming the field', () => {
    for (const [options, field] of [
      [{ tileSize: 100 }, 'tileSize'],
      [{ tileSize: 32 }, 'tileSize'],
      [{ memoryBudgetMB: 0 }, 'memoryBudgetMB'],
      [{ mode: 'sometimes' }, 'mode'],
    ] as const) {
      assert.throws(
        () => resolveVaeTiling(options as Parameters<typeof resolveVaeTiling>[0], 512),
        (error) => isPipelineError(error, 'INVALID_REQUEST') && error.message.includes(`vaeTiling.${field}`),
      );
    }
  });
});

describe('VAE decode on the tiny model', () => {
  const latents = (width: number, height: number): Float32Array =>
    Float32Array.from({ length: 4 * width * height }, (_, i) => Math.sin(i * 0.37) * 0.8);

  it("decodes a larger picture in tiles, the first crop being its tile's own decode", async () => {
    const sessions = new SessionFactory({ provider: 'cpu' });
    const session = await sessions.load('test/fixtures/tiny-sd/vae_decoder/model.onnx');
    const tiled = new VaeDecoder(session, { tiling: resolveVaeTiling({ mode: 'always', tileSize: 64 }, 512) });
    const whole = new VaeDecoder(session);
    const z = latents(16, 12);
    const picture = await tiled.decode(z, 16, 12);
    assert.equal(picture.length, 3 * 128 * 96);
    assert.ok(picture.every(Number.isFinite));
    // Tile (0, 0) covers latents [0, 8)²; nothing is blended into it, and its crop is 48×48 (64 − 16 blended).
    const firstTile = z.filter((_, i) => i % 16 < 8 && Math.floor(i / 16) % 12 < 8);
    const own = await whole.decode(firstTile, 8, 8);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 48; y++) {
        const row = picture.subarray((c * 96 + y) * 128, (c * 96 + y) * 128 + 48);
        assert.deepEqual(row, own.subarray((c * 64 + y) * 64, (c * 64 + y) * 64 + 48));
      }
    }
    assert.notDeepEqual(picture, await whole.decode(z, 16, 12));
    await sessions.releaseAll();
  });

  it('a picture within one tile is the same picture with tiling forced', async () => {
    const request = { prompt: 'a lighthouse', seed: 3, steps: 2, width: 64, height: 64 };
    const pictures = [];
    for (const mode of ['never', 'always'] as const) {
      const pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu', vaeTiling: { mode, tileSize: 64 } });
      pictures.push((await pipeline.generate(request)).images[0]?.rgb8);
      await pipeline.dispose();
    }
    assert.ok(pictures[0]);
    assert.deepEqual(pictures[1], pictures[0]);
  });

  it('slicing: one picture per run gives the batch decode bit for bit (float32 and float16)', async () => {
    for (const dir of ['tiny-sd', 'tiny-sd-fp16']) {
      const sessions = new SessionFactory({ provider: 'cpu' });
      const session = await sessions.load(`test/fixtures/${dir}/vae_decoder/model.onnx`);
      const decoder = new VaeDecoder(session);
      const z = latents(16, 16);
      const pair = new Float32Array(2 * z.length);
      pair.set(z.map((v) => -v), 0);
      pair.set(z, z.length);
      const input = session.inputs[0];
      assert.ok(input);
      const batchInput = new FloatInput(input.type === 'float16' ? 'float16' : 'float32', [2, 4, 16, 16]);
      batchInput.values.set(pair);
      const batch = readFloats((await session.run({ latent_sample: batchInput.tensor() })).sample!);
      const second = await decoder.decode(z, 16, 16);
      assert.deepEqual(second, batch.subarray(batch.length / 2));
      await sessions.releaseAll();
    }
  });
});
