import type { FamilyFacts, Rgb8Image, SchedulerConfig } from '../pipeline/index.js';
import type { GenerationRequest } from './request.js';

/** A model as members see it: A1111's `Model` and `Model hash` (the first 10 hex digits of the file's sha256). */
export interface ModelLabel {
  readonly name: string;
  readonly hash?: string | undefined;
}

/** One finished image: its pixels and the A1111 infotext that goes into its PNG. */
export interface GeneratedImage {
  readonly image: Rgb8Image;
  readonly seed: string;
  /** A1111's `parameters` text for this image. */
  readonly parameters: string;
}

/** What a job produced. */
export interface GeneratedImages {
  readonly images: readonly GeneratedImage[];
  /** Things the member should know about the prompt (removed syntax, truncation). */
  readonly warnings: readonly string[];
  /** The model's name as shown in embeds and infotext. */
  readonly model: string;
  /** Time in the pipeline, ms. */
  readonly durationMs: number;
}

/** The pictures an img2img or inpaint request starts from, as the input store keeps them (PNG files). */
export interface GenerationInputs {
  /** The source picture (`request.source`). */
  readonly image?: Uint8Array;
  /** The mask, white = repaint (`request.mask`). */
  readonly mask?: Uint8Array;
}

export interface GenerateOptions {
  /** Aborted on cancel, time limit or shutdown; the pipeline stops between steps. */
  readonly signal: AbortSignal;
  /**
   * Called after every denoising step; with `request.previews`, with a cheap preview of the pictures as they form
   * (the latents through A1111's "Approx cheap" map, 1/8 of the size; several side by side as a grid).
   */
  readonly onProgress: (step: number, total: number, preview?: Rgb8Image) => void;
  /** The request's source picture and mask; none for txt2img. */
  readonly inputs?: GenerationInputs;
  /**
   * The queue's id of the job: a GPU worker on another machine (`src/gpu-workers`) runs a job resubmitted after a
   * restart once, by this id. A local generator does not need it.
   */
  readonly jobId?: string;
}

/** Turns requests into images: the pipeline behind the bot (`sd-generator.ts`). */
export interface ImageGenerator {
  /** Model name for embeds. */
  readonly modelName: string;
  /** The side of the square the model was trained at (512 for SD 1.x). */
  readonly nativeSize: number;
  /** The other sizes the model's family was trained at (SDXL's aspect buckets; none for SD 1.x). */
  readonly sizeBuckets: FamilyFacts['sizeBuckets'];
  /** The largest clip skip the model's text encoder offers (1 when it offers none). */
  readonly maxClipSkip: number;
  /** The model's scheduler config, to count the model calls of a request (`modelCallsOf`). */
  readonly schedulerConfig: SchedulerConfig;
  generate(request: GenerationRequest, options: GenerateOptions): Promise<GeneratedImages>;
}
