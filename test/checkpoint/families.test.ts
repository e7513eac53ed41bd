import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCheckpointError, openCheckpoint } from '../../src/checkpoint/index.js';
import { float32ToFloat16 } from '../../src/pipeline/runtime/float16.js';
import { TINY_LORA, TINY_SD, TINY_SD_INPAINT, TINY_SDXL, TINY_SDXL_FOLDER, tensorsOf, writeDiffusersFolder, writeFp16Copy, writeHeaderOnly } from '../support/checkpoint-files.js';
import { writeSafetensors } from '../support/safetensors-writer.js';
import { sd15Layout } from '../support/sd15-layout.js';
import { tempDir } from '../support/temp-dir.js';

// The tiny fixture's architecture, read off its ONNX graphs (test/fixtures/tiny-sd): UNet block widths 16/32 with
// 1 layer per level, 8 heads (the attention Reshape constants), GroupNorm of 8 groups (the [0, 8, -1] reshape before
// each InstanceNormalization), a 3-layer 16-wide text encoder with 2 heads (scale 8^-0.25 on q and k) and QuickGELU
// (x·sigmoid(1.702x)), a VAE of widths 8/8/16/16.
const TINY_UNET = {
  inChannels: 4,
  outChannels: 4,
  blockOutChannels: [16, 32],
  layersPerBlock: 1,
  downBlockTypes: ['CrossAttnDownBlock2D', 'DownBlock2D'],
  upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D'],
  crossAttentionDim: 16,
  attentionHeads: [8, 8],
  transformerLayersPerBlock: [1, 1],
  useLinearProjection: false,
  normNumGroups: 8,
  normEps: 1e-5,
  upcastAttention: false,
};
const TINY_TEXT = {
  vocabSize: 49408,
  hiddenSize: 16,
  intermediateSize: 32,
  numLayers: 3,
  numHeads: 2,
  maxPositions: 77,
  hiddenAct: 'quick_gelu',
  layerNormEps: 1e-5,
};
const TINY_VAE = {
  inChannels: 3,
  outChannels: 3,
  latentChannels: 4,
  blockOutChannels: [8, 8, 16, 16],
  layersPerBlock: 1,
  normNumGroups: 8,
  scalingFactor: 0.18215,
};

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isCheckpointError(error)) return `${error.code}: ${error.message}`;
    throw error;
  }
  return 'no error';
}

describe('checkpoint families', () => {
  it('reads tiny-sd.safetensors as SD 1.x with the fixture architecture', () => {
    const { components, schedulerConfig } = openCheckpoint(TINY_SD);
    assert.equal(components.family, 'sd1');
    assert.deepEqual(components.unet.config, TINY_UNET);
    assert.deepEqual(components.textEncoder.config, TINY_TEXT);
    assert.deepEqual(components.vae.config, TINY_VAE);
    assert.equal(schedulerConfig._class_name, 'PNDMScheduler');
    // VAE attention projections are 1×1 convolutions in the file and Linear layers for the writers.
    assert.deepEqual(components.vae.weights.shape('decoder.mid_block.attentions.0.to_q.weight'), [16, 16]);
    // LDM numbers decoder levels from the bottom: its up.1 (the one with a 16 → 8 shortcut) is diffusers' up_blocks.2.
    assert.deepEqual(components.vae.weights.shape('decoder.up_blocks.2.resnets.0.conv_shortcut.weight'), [8, 16, 1, 1]);
  });

  it('reads the inpainting checkpoint (9 input channels) as its own family', () => {
    const { components } = openCheckpoint(TINY_SD_INPAINT);
    assert.equal(components.family, 'sd1-inpaint');
    assert.deepEqual(components.unet.config, { ...TINY_UNET, inChannels: 9 });
  });

  it('reads an fp16 download to the same values rounded to fp16', () => {
    const dir = tempDir();
    writeFp16Copy(TINY_SD, join(dir, 'half.safetensors'));
    const full = openCheckpoint(TINY_SD).components.unet.weights.read('conv_in.weight');
    const half = openCheckpoint(join(dir, 'half.safetensors')).components.unet.weights.read('conv_in.weight');
    assert.equal(half.length, full.length);
    for (let i = 0; i < full.length; i++) assert.ok(Math.abs((half[i] ?? 0) - (full[i] ?? 0)) <= Math.abs(full[i] ?? 0) * 2 ** -11);
    // An fp16 graph can take the stored bits as they are; a float32 file has none to give.
    const bits = openCheckpoint(join(dir, 'half.safetensors')).components.unet.weights.readFloat16?.('conv_in.weight');
    assert.deepEqual(bits, float32ToFloat16(full));
    assert.equal(openCheckpoint(TINY_SD).components.unet.weights.readFloat16?.('conv_in.weight'), undefined);
  });

  it('derives SD 1.5 published config from the real SD 1.5 shapes', () => {
    const path = join(tempDir(), 'sd15.safetensors');
    writeHeaderOnly(path, sd15Layout());
    const { components } = openCheckpoint(path);
    assert.equal(components.family, 'sd1');
    assert.deepEqual(components.unet.config, {
      ...TINY_UNET,
      blockOutChannels: [320, 640, 1280, 1280],
      layersPerBlock: 2,
      downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
      upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
      crossAttentionDim: 768,
      attentionHeads: [8, 8, 8, 8],
      transformerLayersPerBlock: [1, 1, 1, 1],
      normNumGroups: 32,
    });
    assert.deepEqual(components.textEncoder.config, {
      ...TINY_TEXT,
      hiddenSize: 768,
      intermediateSize: 3072,
      numLayers: 12,
      numHeads: 12,
    });
    assert.deepEqual(components.vae.config, { ...TINY_VAE, blockOutChannels: [128, 256, 512, 512], layersPerBlock: 2, normNumGroups: 32 });
  });

  it('derives SD 2.x published config from the real SD 2.x shapes (OpenCLIP text encoder, Linear projections)', () => {
    const path = join(tempDir(), 'sd2.safetensors');
    writeHeaderOnly(path, sd15Layout('sd2'));
    const { components } = openCheckpoint(path);
    assert.equal(components.family, 'sd2');
    const unet = components.unet.config;
    assert.deepEqual(unet.attentionHeads, [5, 10, 20, 20]);
    assert.equal(unet.useLinearProjection, true);
    assert.equal(unet.crossAttentionDim, 1024);
    assert.equal(unet.upcastAttention, true);
    assert.deepEqual(components.textEncoder.config, {
      vocabSize: 49408,
      hiddenSize: 1024,
      intermediateSize: 4096,
      // SD 2.x conditions on the penultimate layer: diffusers' text encoder has 23 of the 24 blocks.
      numLayers: 23,
      numHeads: 16,
      maxPositions: 77,
      hiddenAct: 'gelu',
      layerNormEps: 1e-5,
    });
    assert.deepEqual(components.textEncoder.weights.shape('text_model.encoder.layers.0.self_attn.k_proj.weight'), [1024, 1024]);
    assert.deepEqual(components.textEncoder.weights.shape('text_model.encoder.layers.0.self_attn.v_proj.bias'), [1024]);
  });

  it('splits the packed OpenCLIP q/k/v projection into the three CLIP projections', () => {
    // tiny-sd's CLIP text encoder rewritten under OpenCLIP names, q, k and v stacked as OpenCLIP stores them.
    const source = openCheckpoint(TINY_SD).components.textEncoder.weights;
    const bytes = (values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    const openClip = tensorsOf(TINY_SD, (n) => !n.startsWith('cond_stage_model.'));
    const layer = (i: number, part: string) => source.read(`text_model.encoder.layers.${i}.${part}`);
    for (let i = 0; i < 3; i++) {
      const b = `cond_stage_model.model.transformer.resblocks.${i}`;
      for (const kind of ['weight', 'bias'] as const) {
        const packed = ['q_proj', 'k_proj', 'v_proj'].map((p) => layer(i, `self_attn.${p}.${kind}`));
        const joined = new Float32Array(packed.reduce((n, p) => n + p.length, 0));
        packed.reduce((offset, p) => (joined.set(p, offset), offset + p.length), 0);
        openClip.push({ name: `${b}.attn.in_proj_${kind}`, dtype: 'F32', shape: kind === 'weight' ? [48, 16] : [48], data: bytes(joined) });
      }
      for (const [from, to] of [['ln_1', 'layer_norm1'], ['ln_2', 'layer_norm2'], ['attn.out_proj', 'self_attn.out_proj'], ['mlp.c_fc', 'mlp.fc1'], ['mlp.c_proj', 'mlp.fc2']]) {
        for (const kind of ['weight', 'bias']) {
          const values = layer(i, `${to}.${kind}`);
          openClip.push({ name: `${b}.${from}.${kind}`, dtype: 'F32', shape: source.shape(`text_model.encoder.layers.${i}.${to}.${kind}`), data: bytes(values) });
        }
      }
    }
    for (const [from, to] of [['token_embedding.weight', 'embeddings.token_embedding.weight'], ['positional_embedding', 'embeddings.position_embedding.weight'], ['ln_final.weight', 'final_layer_norm.weight'], ['ln_final.bias', 'final_layer_norm.bias']]) {
      openClip.push({ name: `cond_stage_model.model.${from}`, dtype: 'F32', shape: source.shape(`text_model.${to}`), data: bytes(source.read(`text_model.${to}`)) });
    }
    const path = join(tempDir(), 'openclip.safetensors');
    writeSafetensors(path, openClip);
    const text = openCheckpoint(path).components.textEncoder;
    assert.equal(text.config.hiddenAct, 'gelu');
    assert.equal(text.config.numLayers, 2);
    for (const name of source.names()) {
      if (name.includes('layers.2.')) continue;
      assert.deepEqual(text.weights.read(name), source.read(name), name);
      assert.deepEqual(text.weights.shape(name), source.shape(name), name);
    }
  });

  it('says a LoRA is a LoRA', () => {
    assert.match(codeOf(() => openCheckpoint(TINY_LORA)), /^NOT_A_CHECKPOINT: .*looks like a LoRA, not a checkpoint/);
  });

  it('lists what a partial checkpoint lacks, with the count', () => {
    const path = join(tempDir(), 'partial.safetensors');
    writeSafetensors(path, tensorsOf(TINY_SD, (n) => !n.includes('output_blocks.3.') && !n.includes('middle_block.2.')));
    const message = codeOf(() => openCheckpoint(path));
    assert.match(message, /^INCOMPLETE: partial\.safetensors is incomplete: UNet keys missing: /);
    // middle_block.2 has 10 tensors, output_blocks.3 (resnet with shortcut + attention) 12 + 26.
    assert.match(message, /mid_block\.resnets\.1\.norm1\.weight, .*, 5 of 48 shown/);
  });

  it('refuses the SDXL refiner, SDXL inpainting, and a file with no UNet at all, saying what it is', () => {
    const dir = tempDir();
    // The refiner's only text encoder is OpenCLIP, as `conditioner.embedders.0.model`.
    writeSafetensors(join(dir, 'refiner.safetensors'), [
      ...tensorsOf(TINY_SD),
      { name: 'conditioner.embedders.0.model.ln_final.weight', dtype: 'F32', shape: [1], data: new Uint8Array(4) },
    ]);
    assert.match(codeOf(() => openCheckpoint(join(dir, 'refiner.safetensors'))), /^UNSUPPORTED_FAMILY: .*SDXL refiner/);
    const convIn = 'model.diffusion_model.input_blocks.0.0.weight';
    writeSafetensors(join(dir, 'xl-inpaint.safetensors'), [
      ...tensorsOf(TINY_SDXL, (n) => n !== convIn),
      { name: convIn, dtype: 'F32', shape: [16, 9, 3, 3], data: new Uint8Array(16 * 9 * 9 * 4) },
    ]);
    assert.match(codeOf(() => openCheckpoint(join(dir, 'xl-inpaint.safetensors'))), /^UNSUPPORTED_FAMILY: .*SDXL .*9 input channels/);
    writeSafetensors(join(dir, 'xl-partial.safetensors'), tensorsOf(TINY_SDXL, (n) => !n.includes('text_projection')));
    assert.match(codeOf(() => openCheckpoint(join(dir, 'xl-partial.safetensors'))), /^INCOMPLETE: .*second text encoder keys missing: text_projection\.weight/);
    writeSafetensors(join(dir, 'vae.safetensors'), tensorsOf(TINY_SD, (n) => n.startsWith('first_stage_model.')));
    assert.match(codeOf(() => openCheckpoint(join(dir, 'vae.safetensors'))), /^NOT_A_CHECKPOINT: .*standalone VAE/);
  });

  it('reads SDXL from a single file as from its diffusers folder: the same configs and tensors', () => {
    const file = openCheckpoint(TINY_SDXL);
    const folder = openCheckpoint(TINY_SDXL_FOLDER);
    assert.equal(file.family.id, 'sdxl');
    assert.equal(folder.family.id, 'sdxl');
    // diffusers' config of the fixture: heads [2, 4] (8 wide), 1 and 2 transformer layers, linear projections,
    // 8-wide time-id embeddings (56 = 8 pooled + 6 × 8).
    const unet = { ...TINY_UNET, downBlockTypes: ['DownBlock2D', 'CrossAttnDownBlock2D'], upBlockTypes: ['CrossAttnUpBlock2D', 'UpBlock2D'] };
    const xlUnet = { ...unet, attentionHeads: [2, 4], transformerLayersPerBlock: [1, 2], useLinearProjection: true, addTimeEmbedDim: 8 };
    assert.deepEqual(folder.components.unet.config, xlUnet);
    assert.deepEqual(file.components.unet.config, xlUnet);
    const text = { ...TINY_TEXT, hiddenSize: 8, intermediateSize: 16 };
    assert.deepEqual(file.components.textEncoder.config, text);
    assert.deepEqual(folder.components.textEncoder.config, text);
    const second = { ...text, hiddenAct: 'gelu', projectionDim: 8 };
    assert.deepEqual(file.components.textEncoder2?.config, second);
    assert.deepEqual(folder.components.textEncoder2?.config, second);
    assert.equal(file.components.vae.config.scalingFactor, 0.13025);
    assert.equal(folder.components.vae.config.scalingFactor, 0.13025);
    for (const name of folder.components.textEncoder2?.weights.names() ?? []) {
      assert.deepEqual(file.components.textEncoder2?.weights.read(name), folder.components.textEncoder2?.weights.read(name), name);
    }
    for (const name of ['add_embedding.linear_1.weight', 'add_embedding.linear_2.bias']) {
      assert.deepEqual(file.components.unet.weights.read(name), folder.components.unet.weights.read(name), name);
    }
    // A single file has no scheduler: SDXL base's, with its `leading` timestep spacing.
    assert.equal(file.schedulerConfig._class_name, 'EulerDiscreteScheduler');
    assert.equal(file.schedulerConfig.timestep_spacing, 'leading');
    assert.equal(file.forceZerosForEmptyPrompt, true);
  });

  it('reads a diffusers folder through its config.json files', () => {
    const dir = tempDir();
    writeDiffusersFolder(TINY_SD, dir);
    const { components } = openCheckpoint(TINY_SD);
    const folder = openCheckpoint(dir).components;
    assert.equal(folder.family, 'sd1');
    assert.deepEqual(folder.unet.config, TINY_UNET);
    assert.deepEqual(folder.textEncoder.config, TINY_TEXT);
    assert.deepEqual(folder.vae.config, TINY_VAE);
    assert.deepEqual(folder.unet.weights.read('conv_in.weight'), components.unet.weights.read('conv_in.weight'));
  });
});
