// Issue 18: LoRA files in kohya's (diffusers and LDM module names) and PEFT's naming, LoCon convolutions, and the kinds refused with a reason.
// Expected changes are computed here from the factors (up · down, A1111's rule), not read from the code.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { isNetworkError, LoraLibrary, loraPatch, readLora } from '../../src/networks/index.js';
import type { LowRank, PatchableWeight, PatchedComponent, WeightDelta } from '../../src/pipeline/index.js';
import { TINY_LORA, TINYTOK } from '../support/checkpoint-files.js';
import { writeSafetensors, type TensorToWrite } from '../support/safetensors-writer.js';
import { tempDir } from '../support/temp-dir.js';

const Q = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q';
const CONV = 'down_blocks.0.resnets.0.conv1';
/** A model with one Linear 3 → 2 (stored transposed, [in, out]) and one 3×3 convolution 2 → 2. */
const WEIGHTS: Readonly<Record<PatchedComponent, readonly PatchableWeight[]>> = {
  text_encoder: [],
  text_encoder_2: [],
  unet: [
    { name: `${Q}.weight:T`, type: 'float32', dims: [3, 2], offset: 0, length: 24 },
    { name: `${CONV}.weight`, type: 'float32', dims: [2, 2, 3, 3], offset: 64, length: 144 },
  ],
};
const UP = [1, 2, 3, 4]; // [out 2, rank 2]
const DOWN = [1, 0, -1, 2, 1, 0]; // [rank 2, in 3]

function tensor(name: string, shape: number[], values: readonly number[]): TensorToWrite {
  return { name, dtype: 'F32', shape, data: new Uint8Array(Float32Array.from(values).buffer) };
}

function file(tensors: TensorToWrite[]): string {
  const path = join(tempDir(), 'net.safetensors');
  writeSafetensors(path, tensors);
  return path;
}

/** A kohya LoRA of one module, the Linear Q: up · down. */
function kohyaQ(): TensorToWrite[] {
  return [
    tensor(`lora_unet_${Q.replaceAll('.', '_')}.lora_down.weight`, [2, 3], DOWN),
    tensor(`lora_unet_${Q.replaceAll('.', '_')}.lora_up.weight`, [2, 2], UP),
  ];
}

/** a·b, row-major. */
function multiply({ a, b, rank }: LowRank): number[] {
  const rows = a.length / rank;
  const columns = b.length / rank;
  return Array.from({ length: rows * columns }, (_, i) => {
    const [r, c] = [Math.floor(i / columns), i % columns];
    let sum = 0;
    for (let k = 0; k < rank; k++) sum += (a[r * rank + k] ?? 0) * (b[k * columns + c] ?? 0);
    return sum;
  });
}

/** scale · a·b (⊙ the second product for LoHa), as weight_ops adds it, row-major. */
function change(delta: WeightDelta | undefined): number[] {
  assert.ok(delta);
  const second = delta.hadamard ? multiply(delta.hadamard) : undefined;
  return multiply(delta).map((value, i) => value * (second?.[i] ?? 1) * delta.scale);
}

describe('LoRA files', () => {
  it("kohya's and PEFT's namings give the same change: (up·down)ᵀ for a Linear stored transposed, × m·alpha/rank", async () => {
    const kohya = await readLora(file([...kohyaQ(), tensor(`lora_unet_${Q.replaceAll('.', '_')}.alpha`, [], [1])]));
    const peft = await readLora(file([
      tensor(`base_model.model.unet.${Q}.lora_A.weight`, [2, 3], DOWN),
      tensor(`base_model.model.unet.${Q}.lora_B.weight`, [2, 2], UP),
    ]));
    // up·down = [[5, 2, -1], [11, 4, -3]]; stored transposed: [in 3, out 2].
    const upDownT = [5, 11, 2, 4, -1, -3];
    const fromKohya = loraPatch(kohya, { name: 'net', te: 1, unet: 0.5 }, WEIGHTS);
    assert.deepEqual(change(fromKohya.deltas.unet[0]), upDownT.map((v) => v * 0.5 * (1 / 2)));
    const fromPeft = loraPatch(peft, { name: 'net', te: 1, unet: 0.5 }, WEIGHTS);
    assert.deepEqual(change(fromPeft.deltas.unet[0]), upDownT.map((v) => v * 0.5));
    assert.deepEqual(fromPeft.deltas.text_encoder, []);
  });

  it("LoCon: a 3×3 convolution's change is up · down flattened, in the weight's own layout", async () => {
    const down = Array.from({ length: 1 * 2 * 9 }, (_, i) => i); // [rank 1, in 2, 3, 3]
    const lora = await readLora(file([
      tensor(`lora_unet_${CONV.replaceAll('.', '_')}.lora_down.weight`, [1, 2, 3, 3], down),
      tensor(`lora_unet_${CONV.replaceAll('.', '_')}.lora_up.weight`, [2, 1, 1, 1], [1, -2]),
    ]));
    const patch = loraPatch(lora, { name: 'net', te: 1, unet: 1 }, WEIGHTS);
    assert.deepEqual(change(patch.deltas.unet[0]), [...down, ...down.map((v) => 0 - 2 * v)]);
  });

  it("kohya keys in the UNet's LDM naming reach the same layers: a resnet's in_layers_2 is conv1, input_blocks_1_1 the first attention", async () => {
    const down = Array.from({ length: 2 * 9 }, (_, i) => i - 9); // [rank 1, in 2, 3, 3]
    const lora = await readLora(file([
      tensor('lora_unet_input_blocks_1_0_in_layers_2.lora_down.weight', [1, 2, 3, 3], down),
      tensor('lora_unet_input_blocks_1_0_in_layers_2.lora_up.weight', [2, 1, 1, 1], [3, 1]),
      tensor('lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q.lora_down.weight', [2, 3], DOWN),
      tensor('lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q.lora_up.weight', [2, 2], UP),
    ]));
    const patch = loraPatch(lora, { name: 'net', te: 1, unet: 1 }, WEIGHTS);
    const [conv, linear] = [CONV, Q].map((layer) => patch.deltas.unet.find((delta) => delta.weight.startsWith(`${layer}.weight`)));
    assert.deepEqual(change(conv), [...down.map((v) => 3 * v), ...down]);
    assert.deepEqual(change(linear), [5, 11, 2, 4, -1, -3]);
  });

  it('a LoRA of which only some modules are layers of the model: those merged, the others named in a warning with the count', async () => {
    const path = file([
      ...kohyaQ(),
      tensor('lora_unet_down_blocks_7_attentions_0_proj_in.lora_down.weight', [2, 3], DOWN),
      tensor('lora_unet_down_blocks_7_attentions_0_proj_in.lora_up.weight', [2, 2], UP),
      tensor('lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight', [2, 3], DOWN),
      tensor('lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight', [2, 2], UP),
    ]);
    const library = new LoraLibrary(dirname(path));
    const { patches, warnings } = await library.patches([{ name: 'net', te: 1, unet: 1 }], WEIGHTS);
    assert.equal(patches[0]?.deltas.unet.length, 1);
    assert.deepEqual(warnings, ['Only 1 of the 3 layers the LoRA net changes are in this model; the others were left out.']);
    const whole = await new LoraLibrary(dirname(file(kohyaQ()))).patches([{ name: 'net', te: 1, unet: 1 }], WEIGHTS);
    assert.deepEqual(whole.warnings, []);
  });

  it('LoHa: (w1a·w1b) ⊙ (w2a·w2b), transposed for a Linear, × m · alpha / rank', async () => {
    const key = `lora_unet_${Q.replaceAll('.', '_')}`;
    const lora = await readLora(file([
      tensor(`${key}.hada_w1_a`, [2, 2], UP),
      tensor(`${key}.hada_w1_b`, [2, 3], DOWN),
      tensor(`${key}.hada_w2_a`, [2, 1], [1, -1]),
      tensor(`${key}.hada_w2_b`, [1, 3], [2, 3, 4]),
      tensor(`${key}.alpha`, [], [4]),
    ]));
    // w1a·w1b = [[5, 2, -1], [11, 4, -3]]; w2a·w2b = [[2, 3, 4], [-2, -3, -4]]; product transposed to [in 3, out 2].
    const expected = [10, -22, 6, -12, -4, 12];
    const patch = loraPatch(lora, { name: 'net', te: 1, unet: 0.5 }, WEIGHTS);
    assert.deepEqual(change(patch.deltas.unet[0]), expected.map((v) => v * 0.5 * (4 / 2)));
  });

  it('reads the fixture: its 66 modules (198 tensors: down, up, alpha), its name and 12-digit hash', async () => {
    const lora = await readLora(TINY_LORA);
    assert.equal(lora.name, 'tiny-lora');
    assert.match(lora.hash, /^[0-9a-f]{12}$/);
    assert.equal(lora.modules.length, 66);
  });

  it('refuses Tucker LoHa, LoKr, Tucker, files that are no LoRA, and LoRAs for other layers, saying why', async () => {
    const refusals: [TensorToWrite[], RegExp][] = [
      [[tensor('lora_unet_x.hada_t1', [1, 1], [0])], /is a Tucker-decomposed LoHa, which dreamcord does not apply yet/],
      [[tensor('lora_unet_x.lokr_w1', [1, 1], [0])], /is LoKr/],
      [[tensor('lora_unet_x.lora_mid.weight', [1, 1], [0])], /Tucker/],
    ];
    for (const [tensors, message] of refusals) {
      await assert.rejects(readLora(file(tensors)), (error: unknown) => isNetworkError(error, 'UNSUPPORTED') && message.test(error.message));
    }
    await assert.rejects(readLora(TINYTOK), (error: unknown) => isNetworkError(error, 'NOT_A_NETWORK') && /is not a LoRA/.test(error.message));
    const other = await readLora(file([
      tensor('lora_unet_elsewhere.lora_down.weight', [1, 3], [0, 0, 0]),
      tensor('lora_unet_elsewhere.lora_up.weight', [2, 1], [0, 0]),
    ]));
    assert.throws(() => loraPatch(other, { name: 'net', te: 1, unet: 1 }, WEIGHTS), /changes none of this model's layers/);
    const misfit = await readLora(file([
      tensor(`lora_unet_${Q.replaceAll('.', '_')}.lora_down.weight`, [1, 4], [0, 0, 0, 0]),
      tensor(`lora_unet_${Q.replaceAll('.', '_')}.lora_up.weight`, [2, 1], [0, 0]),
    ]));
    assert.throws(() => loraPatch(misfit, { name: 'net', te: 1, unet: 1 }, WEIGHTS), /does not fit .*to_q\.weight:T \[3, 2\]/);
  });
});
