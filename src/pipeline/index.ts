// dreamcord/pipeline: Stable Diffusion 1.x / 2.x on ONNX Runtime for Node, reproducing diffusers (and A1111's
// seeds and prompt syntax). Usable without the bot: load a model folder, generate, encode PNGs.
export {
  StableDiffusionPipeline,
  type BatchEntry,
  type BatchOptions,
  type GeneratedImage,
  type GenerateResult,
  type ModelInfo,
  type PipelineOptions,
} from './stable-diffusion.js';
export {
  HIRES_UPSCALER_LABELS,
  HIRES_UPSCALERS,
  hiresSize,
  MASKED_CONTENTS,
  REQUEST_LIMITS,
  resolveParameters,
  resolveRequest,
  type GenerateRequest,
  type GenerationKind,
  type GenerationParameters,
  type HiresOptions,
  type HiresUpscaler,
  type InpaintOptions,
  type MaskedContent,
  type ResolvedHires,
  type ResolvedInpaint,
  type ResolvedParameters,
  type ResolvedRequest,
  type Compat,
  type SeedMode,
} from './request.js';
export { countHiresCalls, countModelCalls } from './model-calls.js';
export { PATCHED_COMPONENTS, type LowRank, type NetworkPatch, type PatchableWeight, type PatchedComponent, type WeightDelta } from './lora/patch.js';
export { extractLoraTags, type LoraTag } from './tokenizer/lora-tags.js';
export type { GenerateHooks, ProgressCallback } from './steps.js';
export type { GenerationTiming } from './timing.js';
export { latentPreview } from './preview.js';
export { isPipelineError, PipelineError, type PipelineErrorCode, type PipelineErrorDetails } from './errors.js';
export type { LogLevel, PipelineLogger } from './logger.js';
export { MODEL_FAMILIES, sizeForAspect, type FamilyFacts, type ModelFamily } from './models/families.js';
export type { VaeTilingMode, VaeTilingOptions } from './models/vae-tiling.js';
export { CONVERSION_MANIFEST_FILE } from './models/model-folder.js';
export {
  cudaProviderInstalled,
  EXECUTION_PROVIDERS,
  parseProviderChoice,
  type ExecutionProvider,
  type ExecutionProviderChoice,
} from './runtime/providers.js';
export {
  CUDA_GRAPH_CHOICES,
  DEFAULT_CUDA_GRAPHS,
  DEFAULT_NATIVE_BRIDGE,
  NATIVE_BRIDGE_CHOICES,
  type CudaGraphChoice,
  type NativeBridgeChoice,
} from './runtime/native/bridge.js';
// Half-precision conversion, shared with the checkpoint reader and the ONNX writer.
export { float16ToFloat32, float32ToFloat16 } from './runtime/float16.js';
export * from './rng/index.js';
export * from './tokenizer/index.js';
export * from './schedulers/index.js';
export * from './image/index.js';
export * from './a1111/index.js';
