/**
 * The contract between reading a checkpoint (`src/checkpoint/`) and writing its ONNX graphs (`src/convert/graphs/`).
 *
 * A reader turns whatever the user holds (an A1111 single file, a diffusers folder) into one `ComponentSource` per
 * model part, with tensors under the names diffusers and transformers use, and a config derived from the family
 * table and the tensors' shapes. The graph writers never see the source layout: a new family or layout only adds a
 * key mapping and a table row.
 */

/**
 * One component's tensors under its reference module names:
 * - text encoder: transformers' `CLIPTextModel` state dict (`text_model.embeddings.token_embedding.weight`,
 *   `text_model.encoder.layers.0.self_attn.q_proj.weight`, …, `text_model.final_layer_norm.weight`);
 * - UNet: diffusers' `UNet2DConditionModel` (`conv_in.weight`, `down_blocks.0.attentions.0.proj_in.weight`, …);
 * - VAE: diffusers' `AutoencoderKL` (`encoder.down_blocks.0.resnets.0.conv1.weight`, `quant_conv.weight`, …).
 */
export interface WeightSource {
  /** Every tensor name present. */
  names(): readonly string[];
  has(name: string): boolean;
  /** The tensor's shape; throws a `CheckpointError` naming the tensor when it is absent. */
  shape(name: string): readonly number[];
  /** The tensor's values widened to float32, read from disk on demand (never the whole file at once). */
  read(name: string): Float32Array;
  /**
   * Optional: the tensor's fp16 bits when it is stored as F16, else undefined. An fp16 graph then copies them
   * instead of widening to float32 and rounding back (the same bits, without the two conversions per value).
   */
  readFloat16?(name: string): Uint16Array | undefined;
}

export interface TextEncoderConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  maxPositions: number;
  hiddenAct: 'quick_gelu' | 'gelu';
  layerNormEps: number;
  /**
   * transformers' `CLIPTextModelWithProjection` (SDXL's second encoder): the width of `text_projection`, which
   * turns the pooled state into the `text_embeds` the UNet is conditioned on. Absent for a plain `CLIPTextModel`.
   */
  projectionDim?: number;
}

export type DownBlockType = 'CrossAttnDownBlock2D' | 'DownBlock2D';
export type UpBlockType = 'CrossAttnUpBlock2D' | 'UpBlock2D';

export interface UNetConfig {
  inChannels: number;
  outChannels: number;
  blockOutChannels: readonly number[];
  layersPerBlock: number;
  downBlockTypes: readonly DownBlockType[];
  upBlockTypes: readonly UpBlockType[];
  crossAttentionDim: number;
  /** Attention heads per level (diffusers' confusingly named `attention_head_dim` in SD 1.x is this count). */
  attentionHeads: readonly number[];
  transformerLayersPerBlock: readonly number[];
  /** SD 2.x and SDXL project in and out of the transformer with Linear layers, SD 1.x with 1×1 convolutions. */
  useLinearProjection: boolean;
  normNumGroups: number;
  normEps: number;
  /**
   * diffusers' `upcast_attention` (SD 2.1 sets it): fp16 graphs compute attention scores in float32, where fp16
   * would overflow. @default false
   */
  upcastAttention?: boolean;
  /**
   * SDXL's added conditioning (diffusers' `addition_embed_type: text_time`): the width of each of the six time
   * ids' sinusoidal embedding (`addition_time_embed_dim`, 256 in SDXL). The UNet then also takes the pooled text
   * embedding and the time ids, through `add_embedding`. Absent in SD 1.x / 2.x.
   */
  addTimeEmbedDim?: number;
}

export interface VaeConfig {
  inChannels: number;
  outChannels: number;
  latentChannels: number;
  blockOutChannels: readonly number[];
  layersPerBlock: number;
  normNumGroups: number;
  scalingFactor: number;
}

export interface ComponentSource<Config> {
  config: Config;
  weights: WeightSource;
}

export type FamilyId = 'sd1' | 'sd1-inpaint' | 'sd2' | 'sd2-inpaint' | 'sdxl';

export interface CheckpointComponents {
  family: FamilyId;
  textEncoder: ComponentSource<TextEncoderConfig>;
  /** SDXL's second text encoder (OpenCLIP ViT-bigG, with its projection); absent in SD 1.x / 2.x. */
  textEncoder2?: ComponentSource<TextEncoderConfig>;
  unet: ComponentSource<UNetConfig>;
  vae: ComponentSource<VaeConfig>;
}
