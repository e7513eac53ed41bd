import type { FamilyFacts, ModelFamily, Rgb8Image, SchedulerConfig } from '../pipeline/index.js';
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
  /** Called before the job's model is prepared: loaded, and converted first if it never was. */
  readonly onPreparing?: (() => void) | undefined;
  /** The request's source picture and mask; none for txt2img. */
  readonly inputs?: GenerationInputs;
  /**
   * The queue's id of the job: a GPU worker on another machine (`src/gpu-workers`) runs a job resubmitted after a
   * restart once, by this id. A local generator does not need it.
   */
  readonly jobId?: string;
}

/** One job of a batch (see `ModelGenerator.generateBatch`). */
export interface BatchGeneration {
  readonly request: GenerationRequest;
  readonly options: GenerateOptions;
}

/** What the bot needs of a model to build requests for it and to count their model calls (`modelCallsOf`). */
export interface ModelFacts {
  /** SD 1.x, 2.x or SDXL: its generation defaults (`/config`'s `sdxl.steps`, …) follow it. */
  readonly family: ModelFamily;
  /** The side of the square the model was trained at (512 for SD 1.x, 1024 for SDXL). */
  readonly nativeSize: number;
  /** The other sizes the model's family was trained at (SDXL's aspect buckets; none for SD 1.x). */
  readonly sizeBuckets: FamilyFacts['sizeBuckets'];
  /** The largest clip skip the model's text encoder offers (1 when it offers none). */
  readonly maxClipSkip: number;
  /** The model's scheduler config. */
  readonly schedulerConfig: SchedulerConfig;
}

/** The generation defaults a model's sidecar sets (a server's own `/config` values still win). */
export interface ModelDefaults {
  readonly steps?: number | undefined;
  readonly cfg?: number | undefined;
  readonly sampler?: string | undefined;
  readonly aspect?: string | undefined;
}

/** A model members may pick (`/imagine model:`, `/config model`). */
export interface ServedModel extends ModelFacts {
  /** Its file or folder name without `.safetensors`: what requests and `/config` call it. */
  readonly name: string;
  /** What menus show: the sidecar's `displayName`, else the name. */
  readonly displayName: string;
  readonly description?: string | undefined;
  readonly defaults?: ModelDefaults | undefined;
  /** Why the model cannot be used (its conversion failed), until its file changes; undefined when it can. */
  readonly broken?: string | undefined;
}

/** One loaded model that turns requests into images (`sd-generator.ts`, on its worker thread). */
export interface ModelGenerator extends ModelFacts {
  /** Model name for embeds. */
  readonly modelName: string;
  generate(request: GenerationRequest, options: GenerateOptions): Promise<GeneratedImages>;
  /**
   * Generates compatible requests (the same `batchKeyOf`) together, the UNet steps of all in one model batch
   * of at most `maxRows` rows; each request's pictures are those `generate` makes for it alone. Absent where a
   * generator cannot batch: the queue then runs every job alone.
   * @returns one promise per job, in order, settling as `generate` would for that job (its own progress, cancel
   *   and failure).
   */
  generateBatch?(jobs: readonly BatchGeneration[], maxRows: number): Promise<GeneratedImages>[];
}

/** Turns requests into images, on whichever model each request names: what the jobs see. */
export interface ImageGenerator {
  /** The models members may pick, the bot's default first. */
  readonly models: readonly ServedModel[];
  /**
   * Whether a job for model `model` can start now beside jobs running for `running` (models, by name). Present
   * where not every slot runs every model (GPU workers, each with its own models); absent where any free slot runs
   * any job (the bot's own GPU).
   */
  hasRoom?(model: string, running: readonly string[]): boolean;
  /**
   * How long ago the last GPU worker with model `model` left, while none online has it (its jobs wait for one);
   * undefined while one has it, or where the bot runs its models itself.
   */
  awayMs?(model: string): number | undefined;
  /**
   * How long the bot waits for a GPU worker with model `model`, once it has waited that long (its waiting jobs then
   * fail); undefined while they should wait, or where the bot runs its models itself.
   */
  abandonedMs?(model: string): number | undefined;
  generate(request: GenerationRequest, options: GenerateOptions): Promise<GeneratedImages>;
  /**
   * Generates compatible requests (the same `batchKeyOf`) together, the UNet steps of all in one model batch
   * of at most `maxRows` rows (GPU workers: on one worker, in one of its slots); each request's pictures are those
   * `generate` makes for it alone. Absent where a generator cannot batch: the queue then runs every job alone.
   * @returns one promise per job, in order, settling as `generate` would for that job (its own progress, cancel
   *   and failure).
   */
  generateBatch?(jobs: readonly BatchGeneration[], maxRows: number): Promise<GeneratedImages>[];
  /**
   * The UNet rows a batch of model `model`'s jobs may take where the generator has its own limit beside
   * `BATCH_MAX_ROWS` (GPU workers each advertise theirs); absent where `BATCH_MAX_ROWS` alone counts.
   */
  batchRowsOf?(model: string): number;
}

/** The served model called `name` (case ignored, as members type it), or the default (the first) without a name. */
export function servedModel(models: readonly ServedModel[], name: string | undefined): ServedModel | undefined {
  if (name === undefined) return models[0];
  const key = name.toLowerCase();
  return models.find((model) => model.name.toLowerCase() === key);
}
