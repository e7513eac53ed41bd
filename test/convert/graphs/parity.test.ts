// Each graph written from a checkpoint fixture against the ONNX export of the same weights (made by diffusers'
// exporter from PyTorch), on the same inputs: so a failure names the component that differs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { openCheckpoint } from '../../../src/checkpoint/index.js';
import type { CheckpointComponents } from '../../../src/checkpoint/components.js';
import { writeTextEncoder } from '../../../src/convert/graphs/text-encoder.js';
import { writeUNet } from '../../../src/convert/graphs/unet.js';
import { writeVaeDecoder, writeVaeEncoder } from '../../../src/convert/graphs/vae.js';
import type { ComponentDtype } from '../../../src/convert/graphs/write-component.js';
import { maxAbsDifference } from '../../pipeline/harness.js';
import { seededRandom } from '../../support/seeded-random.js';
import { processTempDir } from '../../support/temp-dir.js';

const CHECKPOINTS = 'test/fixtures/checkpoints';
/** The bound for a converted component against the export, fp32 on the CPU. */
const FP32_TOLERANCE = 1e-5;
/**
 * fp16 against the fp32 export: outputs reach about 2.5, where one fp16 step is 2e-3; a few steps of rounding
 * through the layers is expected, a wrong layer is off by far more.
 */
const FP16_TOLERANCE = 2e-2;

type Feeds = Record<string, Tensor>;

/**
 * Every output of `reference` and `converted` on `feeds` (and `convertedOnly`, inputs only the converted graph
 * has), by name, with the worst difference of each.
 */
async function compare(reference: string, converted: string, feeds: Feeds, convertedOnly: Feeds = {}): Promise<Map<string, number>> {
  const [expected, actual] = await Promise.all([run(reference, feeds), run(converted, { ...feeds, ...convertedOnly })]);
  const differences = new Map<string, number>();
  for (const [name, tensor] of Object.entries(expected)) {
    const mine = actual[name];
    assert.ok(mine, `${converted} has no output ${name}`);
    assert.deepEqual(mine.dims, tensor.dims, `dims of ${name}`);
    differences.set(name, maxAbsDifference(tensor.data as Float32Array, mine.data as Float32Array));
  }
  return differences;
}

/** One session per model file for the whole run (creating a UNet session costs more than running it). */
const sessions = new Map<string, Promise<InferenceSession>>();
after(async () => {
  for (const session of sessions.values()) await (await session).release();
});

function session(file: string): Promise<InferenceSession> {
  let created = sessions.get(file);
  if (!created) {
    created = InferenceSession.create(file);
    sessions.set(file, created);
  }
  return created;
}

async function run(file: string, feeds: Feeds): Promise<InferenceSession.OnnxValueMapType> {
  return (await session(file)).run(feeds);
}

function assertWithin(differences: Map<string, number>, tolerance: number, what: string): void {
  for (const [name, worst] of differences) {
    assert.ok(worst <= tolerance, `${what}: ${name} differs by ${worst.toExponential(2)} (allowed ${tolerance})`);
  }
}

/** Inputs and outputs of two graphs by name, element type and fixed sizes (symbolic axes only as "dynamic"). */
async function signature(file: string): Promise<string[]> {
  const { inputMetadata, outputMetadata } = await session(file);
  const describe = (role: string, meta: readonly InferenceSession.ValueMetadata[]): string[] =>
    meta.map((m) =>
      m.isTensor
        ? `${role} ${m.name} ${m.type} [${m.shape.map((d) => (typeof d === 'number' ? d : '?')).join(',')}]`
        : `${role} ${m.name}`,
    );
  return [...describe('input', inputMetadata), ...describe('output', outputMetadata)];
}

function floats(random: () => number, dims: number[], scale = 1): Tensor {
  const length = dims.reduce((a, b) => a * b, 1);
  return new Tensor(
    'float32',
    Float32Array.from({ length }, () => (random() * 2 - 1) * scale),
    dims,
  );
}

/** Two prompts' token windows as the tokenizer makes them: BOS, words, EOS, padded with EOS to 77. */
function tokenWindows(): Tensor {
  const ids = new Int32Array(2 * 77).fill(49407);
  ids.set([49406, 320, 1125, 539, 550, 18376, 6765, 320, 4558, 49407]);
  ids.set([49406, 7, 12345, 49000, 2, 300, 49407], 77);
  return new Tensor('int32', ids, [2, 77]);
}

interface Converted {
  readonly dir: string;
  readonly components: CheckpointComponents;
}

/** Writes all four graphs of `checkpoint` in `dtype` once for the suite. */
async function convert(checkpoint: string, dtype: ComponentDtype): Promise<Converted> {
  const dir = processTempDir('dreamcord-graphs-');
  const { components } = openCheckpoint(join(CHECKPOINTS, checkpoint));
  await writeTextEncoder(components.textEncoder, join(dir, 'text_encoder'), { dtype });
  await writeUNet(components.unet, join(dir, 'unet'), { dtype });
  await writeVaeEncoder(components.vae, join(dir, 'vae_encoder'), { dtype });
  await writeVaeDecoder(components.vae, join(dir, 'vae_decoder'), { dtype });
  return { dir, components };
}

const model = (converted: Converted, part: string): string => join(converted.dir, part, 'model.onnx');

for (const dtype of ['fp32', 'fp16'] as const) {
  const tolerance = dtype === 'fp32' ? FP32_TOLERANCE : FP16_TOLERANCE;

  describe(`graphs written from tiny-sd.safetensors (${dtype}) match the tiny-sd export`, () => {
    const reference = (part: string): string => `test/fixtures/tiny-sd/${part}/model.onnx`;
    let converted: Converted;
    before(async () => {
      converted = await convert('tiny-sd.safetensors', dtype);
    });

    it("has the export's inputs and outputs, and the text encoder extra embeddings and clip skip besides", async () => {
      for (const part of ['unet', 'vae_encoder', 'vae_decoder']) {
        assert.deepEqual(await signature(model(converted, part)), await signature(reference(part)), part);
      }
      // tiny-sd's CLIP has 3 layers (hidden_states.0 is the embeddings) and 16-wide states: clip skip 2 and 3.
      const clipSkip = [2, 3].map((k) => `output clip_skip.${k} float32 [?,?,16]`);
      const [ids, ...outputs] = await signature(reference('text_encoder'));
      assert.deepEqual(await signature(model(converted, 'text_encoder')), [
        ids,
        'input extra_embeddings float32 [?,16]',
        ...outputs,
        ...clipSkip,
      ]);
    });

    it('text encoder: every hidden state, the last one and the pooled output', async () => {
      const differences = await compare(reference('text_encoder'), model(converted, 'text_encoder'), {
        input_ids: tokenWindows(),
      }, { extra_embeddings: new Tensor('float32', new Float32Array(16), [1, 16]) });
      assert.equal(differences.size, 6);
      assertWithin(differences, tolerance, 'text encoder');
    });

    it('UNet: square and oblong latents, integer and fractional timesteps, a batch of two', async () => {
      const random = seededRandom(15);
      for (const [height, width, t] of [
        [8, 8, 999],
        [6, 10, 500.25],
        [8, 12, 1],
      ] as const) {
        const feeds = {
          sample: floats(random, [2, 4, height, width]),
          timestep: new Tensor('float32', Float32Array.of(t, t), [2]),
          encoder_hidden_states: floats(random, [2, 77, 16]),
        };
        assertWithin(
          await compare(reference('unet'), model(converted, 'unet'), feeds),
          tolerance,
          `UNet ${height}×${width} t=${t}`,
        );
      }
    });

    it('VAE encoder: the mean and log-variance of an image', async () => {
      const feeds = { sample: floats(seededRandom(16), [1, 3, 64, 48]) };
      assertWithin(
        await compare(reference('vae_encoder'), model(converted, 'vae_encoder'), feeds),
        tolerance,
        'VAE encoder',
      );
    });

    it('VAE decoder: two latents to pictures', async () => {
      const feeds = { latent_sample: floats(seededRandom(17), [2, 4, 8, 6], 3) };
      assertWithin(
        await compare(reference('vae_decoder'), model(converted, 'vae_decoder'), feeds),
        tolerance,
        'VAE decoder',
      );
    });
  });
}

describe("an fp16 UNet with attention upcast to float32 (SD 2.1's setting)", () => {
  it('matches the tiny-sd export as closely as the plain fp16 UNet', async () => {
    const { components } = openCheckpoint(join(CHECKPOINTS, 'tiny-sd.safetensors'));
    const dir = processTempDir('dreamcord-graphs-');
    const unet = { ...components.unet, config: { ...components.unet.config, upcastAttention: true } };
    await writeUNet(unet, dir, { dtype: 'fp16' });
    const random = seededRandom(20);
    const feeds = {
      sample: floats(random, [2, 4, 8, 8]),
      timestep: new Tensor('float32', Float32Array.of(999, 999), [2]),
      encoder_hidden_states: floats(random, [2, 77, 16]),
    };
    const differences = await compare('test/fixtures/tiny-sd/unet/model.onnx', join(dir, 'model.onnx'), feeds);
    assertWithin(differences, FP16_TOLERANCE, 'upcast UNet');
  });
});

describe('graphs written from tiny-sd-inpaint.safetensors', () => {
  let converted: Converted;
  before(async () => {
    converted = await convert('tiny-sd-inpaint.safetensors', 'fp32');
  });

  it('UNet with 9 input channels matches the tiny-sd-inpaint export', async () => {
    const random = seededRandom(18);
    const feeds = {
      sample: floats(random, [2, 9, 8, 8]),
      timestep: new Tensor('float32', Float32Array.of(751, 751), [2]),
      encoder_hidden_states: floats(random, [2, 77, 16]),
    };
    assertWithin(
      await compare('test/fixtures/tiny-sd-inpaint/unet/model.onnx', model(converted, 'unet'), feeds),
      FP32_TOLERANCE,
      'inpainting UNet',
    );
  });

  it('UNet takes latents whose sides do not halve evenly, as diffusers does', async () => {
    const random = seededRandom(19);
    const feeds = {
      sample: floats(random, [1, 9, 7, 9]),
      timestep: new Tensor('float32', Float32Array.of(10), [1]),
      encoder_hidden_states: floats(random, [1, 77, 16]),
    };
    const out = (await run(model(converted, 'unet'), feeds)).out_sample;
    assert.deepEqual(out?.dims, [1, 4, 7, 9]);
    assert.ok(Array.from(out.data as Float32Array).every(Number.isFinite));
  });
});
