// The CUDA form of the image graphs (`--target cuda`). Its fused operators have no CPU kernel, so these tests check
// its structure — which fused nodes, how many, their attributes, the layout of the rearranged weights, the stored
// types — on SD 1.5's real shapes (a header-only checkpoint: the graph is built, never written) and on the tiny
// fixture; its numbers are compared with the portable form on the GPU host (`npm run bench -- --gpu`).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../../src/checkpoint/index.js';
import { graphTargetFor } from '../../../src/convert/model-cache.js';
import { unetGraph } from '../../../src/convert/graphs/unet.js';
import { vaeDecoderGraph, vaeEncoderGraph } from '../../../src/convert/graphs/vae.js';
import { MS_DOMAIN, type GraphBuilder } from '../../../src/onnx-writer/index.js';
import { float16ToFloat32 } from '../../../src/pipeline/index.js';
import { writeHeaderOnly } from '../../support/checkpoint-files.js';
import { sd15Layout } from '../../support/sd15-layout.js';
import { tempDir } from '../../support/temp-dir.js';

const TINY_SD = 'test/fixtures/checkpoints/tiny-sd.safetensors';
const CUDA = { dtype: 'fp16', target: 'cuda' } as const;

function sd15(): ReturnType<typeof openCheckpoint>['components'] {
  const path = join(tempDir(), 'sd15.safetensors');
  writeHeaderOnly(path, sd15Layout());
  return openCheckpoint(path).components;
}

/** How many nodes of each type the graph has. */
function counts(g: GraphBuilder): Map<string, number> {
  const result = new Map<string, number>();
  for (const node of g.nodes) result.set(node.opType, (result.get(node.opType) ?? 0) + 1);
  return result;
}

function nodesOf(g: GraphBuilder, opType: string): GraphBuilder['nodes'] {
  return g.nodes.filter((node) => node.opType === opType);
}

/** The values of the weight `name` as float32 (from the fp16 bits when it has them). */
function weightValues(g: GraphBuilder, name: string): Float32Array {
  const weight = g.weights.find((w) => w.name === name);
  assert.ok(weight, `no weight ${name}`);
  const bits = weight.tensor.readFloat16?.();
  return bits ? float16ToFloat32(bits) : weight.tensor.read();
}

describe('the CUDA form of SD 1.5 (real shapes)', () => {
  const components = sd15();

  it('fuses the UNet as ONNX Runtime’s own optimizer does, in NHWC with no plain Conv or norm left', () => {
    const g = unetGraph(components.unet, CUDA);
    const n = counts(g);
    // 16 transformer blocks: a packed-QKV self-attention and a packed-KV cross-attention each.
    assert.equal(n.get('MultiHeadAttention'), 32);
    const attention = nodesOf(g, 'MultiHeadAttention');
    assert.equal(attention.filter((node) => node.inputs.length === 1).length, 16);
    assert.equal(attention.filter((node) => node.inputs.length === 2).length, 16);
    assert.ok(attention.every((node) => node.attributes['num_heads'] === 8 && node.domain === MS_DOMAIN));
    // 22 resnets: norm1 a GroupNorm with SiLU, norm2 a SkipGroupNorm adding the time embedding; 16 transformer
    // norms without SiLU; the output norm with SiLU.
    assert.equal(n.get('SkipGroupNorm'), 22);
    const groupNorms = nodesOf(g, 'GroupNorm');
    assert.equal(groupNorms.length, 39);
    assert.equal(groupNorms.filter((node) => node.attributes['activation'] === 1).length, 23);
    assert.ok([...groupNorms, ...nodesOf(g, 'SkipGroupNorm')].every((node) => node.attributes['channels_last'] === 1));
    // conv_in, 44 resnet convolutions, 14 shortcuts, 3 down- and 3 upsamplers, 32 projections, conv_out.
    assert.equal(n.get('NhwcConv'), 98);
    assert.equal(n.get('BiasSplitGelu'), 16);
    assert.equal(n.get('BiasAdd'), 16);
    assert.equal(n.get('SkipLayerNormalization'), 32);
    // Only norm1 of each block stays a plain LayerNormalization (ONNX Runtime runs it fused as it is).
    assert.equal(n.get('LayerNormalization'), 16);
    for (const plain of ['Conv', 'InstanceNormalization', 'Softmax', 'Erf', 'Split']) assert.equal(n.get(plain), undefined, plain);
    // The one layout change in and the one out.
    assert.equal(n.get('Transpose'), 2);
  });

  it('stores the UNet’s weights in fp16 but for the fused group norms’ float32 scales and shifts', () => {
    const g = unetGraph(components.unet, CUDA);
    const float32 = g.weights.filter((w) => w.type === 'float32');
    assert.equal(float32.length, 2 * (39 + 22));
    assert.ok(float32.every((w) => w.name.endsWith(':float32') && w.tensor.dims.length === 1));
    // Every other of the 686 tensors in fp16, q/k/v packed into one (16 blocks) and k/v into one (16 blocks).
    assert.equal(components.unet.weights.names().length, 686);
    assert.equal(g.weights.filter((w) => w.type === 'float16').length, 686 - 122 - 16 * 2 - 16);
    // A 3×3 kernel [out, in, 3, 3] is stored [out, 3, 3, in]; the packed projections are [in, heads·3·64].
    const kernel = g.weights.find((w) => w.name === 'down_blocks.0.resnets.0.conv1.weight:nhwc');
    assert.deepEqual(kernel?.tensor.dims, [320, 3, 3, 320]);
    const qkv = g.weights.find((w) => w.name.endsWith('down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_qkv.weight:packed'));
    assert.deepEqual(qkv?.tensor.dims, [320, 960]);
    const kv = g.weights.find((w) => w.name.endsWith('down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_kv.weight:packed'));
    assert.deepEqual(kv?.tensor.dims, [768, 640]);
  });

  it('fuses the VAE decoder and encoder the same way (one-head attention with q, k, v apart: they have biases)', () => {
    const decoder = counts(vaeDecoderGraph(components.vae, CUDA));
    // post_quant_conv, conv_in, 24 + 4 resnet convolutions, 2 shortcuts, 3 upsamplers, conv_out.
    assert.equal(decoder.get('NhwcConv'), 36);
    assert.equal(decoder.get('GroupNorm'), 30);
    assert.equal(decoder.get('MultiHeadAttention'), 1);
    for (const plain of ['Conv', 'InstanceNormalization', 'Softmax']) assert.equal(decoder.get(plain), undefined, plain);
    const attention = nodesOf(vaeDecoderGraph(components.vae, CUDA), 'MultiHeadAttention')[0];
    assert.equal(attention?.inputs.length, 3);
    assert.equal(attention?.attributes['num_heads'], 1);
    const encoder = counts(vaeEncoderGraph(components.vae, CUDA));
    assert.equal(encoder.get('Conv'), undefined);
    assert.equal(encoder.get('MultiHeadAttention'), 1);
  });

  it('leaves the portable form standard ONNX', () => {
    for (const g of [unetGraph(components.unet, { dtype: 'fp16' }), vaeDecoderGraph(components.vae, { dtype: 'fp16' })]) {
      assert.ok(g.nodes.every((node) => node.domain === ''));
      assert.deepEqual([...g.domains], []);
    }
  });
});

describe('the CUDA form of the tiny fixture', () => {
  const { unet } = openCheckpoint(TINY_SD).components;
  const g = unetGraph(unet, CUDA);

  it('keeps the standard GEGLU and residual adds where the fused kernels refuse the width', () => {
    // The tiny UNet is 32 and 64 wide: BiasSplitGelu takes 2560/5120/10240 and BiasAdd 320/640/1280 only.
    const n = counts(g);
    assert.equal(n.get('BiasSplitGelu'), undefined);
    assert.equal(n.get('BiasAdd'), undefined);
    assert.ok((n.get('Split') ?? 0) > 0);
    assert.ok((n.get('MultiHeadAttention') ?? 0) > 0);
  });

  it('packs q, k and v head by head, so that [.., heads, 3, H] holds each head’s projections', () => {
    const prefix = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1';
    const packed = weightValues(g, `${prefix}.to_qkv.weight:packed`);
    const [width = 0, columns = 0] = unet.weights.shape(`${prefix}.to_q.weight`);
    const heads = unet.config.attentionHeads[0] ?? 1;
    const headDim = width / heads;
    ['to_q', 'to_k', 'to_v'].forEach((part, p) => {
      const source = unet.weights.read(`${prefix}.${part}.weight`);
      for (let row = 0; row < width; row++) {
        const head = Math.floor(row / headDim);
        const column = (head * 3 + p) * headDim + (row % headDim);
        for (let input = 0; input < columns; input++) {
          const expected = source[row * columns + input] ?? NaN;
          const actual = packed[input * width * 3 + column] ?? NaN;
          assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * 2 ** -10, `${part} row ${row} input ${input}`);
        }
      }
    });
  });

  it('lays convolution kernels out [out, kh, kw, in]', () => {
    const nhwc = weightValues(g, 'conv_in.weight:nhwc');
    const [out = 0, channels = 0, kh = 0, kw = 0] = unet.weights.shape('conv_in.weight');
    const source = unet.weights.read('conv_in.weight');
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < channels; i++) {
        for (let y = 0; y < kh; y++) {
          for (let x = 0; x < kw; x++) {
            const expected = source[((o * channels + i) * kh + y) * kw + x] ?? NaN;
            const actual = nhwc[((o * kh + y) * kw + x) * channels + i] ?? NaN;
            assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * 2 ** -10);
          }
        }
      }
    }
  });
});

describe('graphTargetFor', () => {
  it('gives the CUDA form for cuda, and for auto only where the CUDA provider is installed', () => {
    assert.equal(graphTargetFor('cuda', () => false), 'cuda');
    assert.equal(graphTargetFor('auto', () => true), 'cuda');
    assert.equal(graphTargetFor('auto', () => false), 'portable');
    for (const provider of ['cpu', 'webgpu', 'dml', 'coreml'] as const) assert.equal(graphTargetFor(provider, () => true), 'portable');
  });
});
