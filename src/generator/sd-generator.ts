import { basename } from 'node:path';
import { FailureError } from '../failure.js';
import { embeddingHashes, isNetworkError, LoraLibrary, readEmbeddingFolder, type LoadedEmbedding } from '../networks/index.js';
import {
  a1111Fields,
  noiseScheduleField,
  img2imgNoiseFields,
  composeGrid,
  compositeOutsideMask,
  decodeImage,
  extractLoraTags,
  featherMask,
  formatInfotext,
  binarizeMask,
  maskLuminance,
  resizeImage,
  hiresInfotext,
  inpaintInfotext,
  StableDiffusionPipeline,
  toRgb8,
  type BatchEntry,
  type GenerateResult,
  type ResolvedRequest,
  type CudaGraphChoice,
  type ExecutionProviderChoice,
  type NativeBridgeChoice,
  type Mask,
  type NetworkPatch,
  type PipelineLogger,
  type Rgb8Image,
  type RgbImage,
  type SchedulerConfig,
  type FamilyFacts,
  type ModelFamily,
} from '../pipeline/index.js';
import type { BatchGeneration, GenerateOptions, GeneratedImages, GenerationInputs, ModelGenerator, ModelLabel } from './generator.js';
import { generationParameters, maskSourceLabel, sourceJobLabel, type GenerationRequest } from './request.js';
import { outputSize } from './working-size.js';

/** What dreamcord writes as `Version` in infotext. */
const VERSION = 'dreamcord 0.1.0';

/** The stored inputs were checked on the way in; this only bounds what a damaged store could make the worker decode. */
const STORED_PIXEL_LIMIT = 4096 * 4096;

/** The infotext's name for each kind of job (`Kind`). */
const KIND_LABELS: Readonly<Record<GenerationRequest['kind'], string>> = { txt2img: 'txt2img', img2img: 'variation', inpaint: 'inpaint' };

export interface GeneratorLoadOptions {
  readonly provider: ExecutionProviderChoice;
  /** Where sessions go through the native bridge to ONNX Runtime's C API. @default 'off' */
  readonly nativeBridge?: NativeBridgeChoice;
  /** Where the UNet runs as CUDA graphs through the bridge. @default 'off' */
  readonly cudaGraph?: CudaGraphChoice;
  readonly cacheDir?: string;
  readonly log?: PipelineLogger;
  /** A 9-channel inpainting model for inpaint jobs; without it the main model inpaints by latent masking. */
  readonly inpaintModelDir?: string | undefined;
  /** A folder of textual-inversion embeddings; a file that cannot be used is left out with a warning. */
  readonly embeddingsDir?: string | undefined;
  /** Where the LoRAs that prompts call (`<lora:name:weight>`) are; without it a LoRA tag fails its job. */
  readonly loraDir?: string | undefined;
  /** How to name each model folder (by path) in embeds and infotext; without one, the folder's own name. */
  readonly modelLabels?: Readonly<Record<string, ModelLabel>> | undefined;
  /** Laid over the main model's scheduler config (see `PipelineOptions.schedulerOverrides`). */
  readonly schedulerOverrides?: SchedulerConfig | undefined;
}

/** The source picture and mask of a job, at the job's working size. */
interface Sources {
  readonly image?: RgbImage;
  readonly mask?: Mask;
}

/**
 * The bot's image generator: the Stable Diffusion pipeline, with A1111 seeds and infotext. Variations and inpaints
 * get their pictures back at the source's aspect ratio, and an inpaint's result is pasted into the source outside
 * the (feathered) mask, so untouched pixels stay exactly as they were sent.
 */
export class StableDiffusionGenerator implements ModelGenerator {
  readonly modelName: string;
  readonly nativeSize: number;
  readonly sizeBuckets: FamilyFacts['sizeBuckets'];
  readonly maxClipSkip: number;
  readonly family: ModelFamily;
  readonly schedulerConfig: SchedulerConfig;
  readonly #pipeline: StableDiffusionPipeline;
  readonly #inpainting: StableDiffusionPipeline | undefined;
  /** A1111's `TI hashes` value for the embeddings a generation used. */
  readonly #tiHashes: (used: readonly string[]) => string;
  readonly #loras: LoraLibrary | undefined;
  readonly #labelOf: (pipeline: StableDiffusionPipeline) => ModelLabel;

  private constructor(
    pipeline: StableDiffusionPipeline,
    inpainting: StableDiffusionPipeline | undefined,
    embeddings: readonly LoadedEmbedding[],
    options: GeneratorLoadOptions,
  ) {
    const { loraDir, modelLabels = {} } = options;
    this.#loras = loraDir === undefined ? undefined : new LoraLibrary(loraDir);
    this.#labelOf = (loaded) => modelLabels[loaded.info.dir] ?? { name: folderName(loaded) };
    this.#pipeline = pipeline;
    this.#inpainting = inpainting;
    this.#tiHashes = embeddingHashes(embeddings);
    this.modelName = this.#labelOf(pipeline).name;
    this.schedulerConfig = pipeline.info.schedulerConfig;
    this.nativeSize = pipeline.info.nativeSize;
    this.sizeBuckets = pipeline.info.sizeBuckets;
    this.maxClipSkip = pipeline.info.maxClipSkip;
    this.family = pipeline.info.family;
  }

  /**
   * Loads the main model and, when given, the inpainting model.
   * @throws PipelineError from loading either; Error when `inpaintModelDir` is not a 9-channel inpainting model.
   */
  static async load(modelDir: string, options: GeneratorLoadOptions): Promise<StableDiffusionGenerator> {
    const { inpaintModelDir, embeddingsDir, provider, nativeBridge, cudaGraph, cacheDir, log } = options;
    const loaded = embeddingsDir === undefined ? [] : await readEmbeddings(embeddingsDir, options);
    const pipelineOptions = {
      provider,
      ...(nativeBridge === undefined ? {} : { nativeBridge }),
      ...(cudaGraph === undefined ? {} : { cudaGraph }),
      ...(cacheDir === undefined ? {} : { cacheDir }),
      ...(log === undefined ? {} : { log }),
      embeddings: loaded.map(({ embedding }) => embedding),
    };
    const schedulerOverrides = options.schedulerOverrides ?? {};
    const pipeline = await StableDiffusionPipeline.load(modelDir, { ...pipelineOptions, schedulerOverrides });
    if (inpaintModelDir === undefined) return new StableDiffusionGenerator(pipeline, undefined, loaded, options);
    try {
      const inpainting = await StableDiffusionPipeline.load(inpaintModelDir, pipelineOptions);
      if (!inpainting.info.inpainting) {
        await inpainting.dispose();
        throw new Error(`INPAINT_MODEL_DIR ${inpaintModelDir} is not an inpainting model (its UNet does not take 9 channels).`);
      }
      return new StableDiffusionGenerator(pipeline, inpainting, loaded, options);
    } catch (error) {
      await pipeline.dispose();
      throw error;
    }
  }

  /**
   * The prompt without its LoRA tags, the LoRAs they call merged for `pipeline`, A1111's `Lora hashes`, and a
   * warning for each LoRA that changes layers the model does not have.
   * @throws FailureError `INVALID_REQUEST` (field `lora`) when a LoRA cannot be used (the bot checks names first).
   */
  async #lorasOf(
    prompt: string,
    pipeline: StableDiffusionPipeline,
  ): Promise<{ prompt: string; patches: NetworkPatch[]; hashes: string; warnings: string[] }> {
    const extracted = extractLoraTags(prompt);
    if (extracted.tags.length === 0) return { prompt: extracted.prompt, patches: [], hashes: '', warnings: [] };
    const weights = pipeline.info.patchableWeights;
    if (!this.#loras || !weights) throw new FailureError('INVALID_REQUEST', { field: 'lora' });
    try {
      return { prompt: extracted.prompt, ...(await this.#loras.patches(extracted.tags, weights)) };
    } catch (error) {
      if (!isNetworkError(error)) throw error;
      // A LoRA that does not fit the model (another family): its sentence names only the file and what is wrong.
      const explained = error.code === 'NOT_A_NETWORK' || error.code === 'UNSUPPORTED';
      throw new FailureError('INVALID_REQUEST', explained ? { field: 'lora', reason: error.message } : { field: 'lora' }, { cause: error });
    }
  }

  /** Which execution provider each model component runs on. */
  get providers(): StableDiffusionPipeline['info']['providers'] {
    return this.#pipeline.info.providers;
  }

  async generate(request: GenerationRequest, options: GenerateOptions): Promise<GeneratedImages> {
    const prepared = await this.#prepare(request, options);
    return this.#finish(request, prepared, await prepared.pipeline.generate(prepared.entry.request, prepared.entry.hooks));
  }

  /**
   * Generates the jobs together (see `ModelGenerator.generateBatch`): each job's pictures and LoRAs are prepared on
   * their own (a job whose preparation fails fails alone), then the prepared ones run as one pipeline batch.
   */
  generateBatch(jobs: readonly BatchGeneration[], maxRows: number): Promise<GeneratedImages>[] {
    const prepared = jobs.map(({ request, options }) => this.#prepare(request, options));
    const started = Promise.allSettled(prepared).then((settled) => {
      const ready = settled.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [{ index, job: outcome.value }] : []));
      const results = new Map<number, Promise<GenerateResult>>();
      // One pipeline batch per pipeline (jobs of one batch key use one; the inpainting model is another).
      for (const pipeline of new Set(ready.map(({ job }) => job.pipeline))) {
        const group = ready.filter(({ job }) => job.pipeline === pipeline);
        const runs = pipeline.generateBatch(
          group.map(({ job }) => job.entry),
          { maxRows },
        );
        group.forEach(({ index }, k) => results.set(index, runs[k] ?? Promise.reject(new Error('the pipeline returned fewer results than requests'))));
      }
      return results;
    });
    return jobs.map(async ({ request }, index) => {
      const job = await prepared[index];
      if (!job) throw new Error(`no prepared job ${index}`);
      const result = (await started).get(index);
      if (!result) throw new Error(`job ${index} of the batch did not run`);
      return this.#finish(request, job, await result);
    });
  }

  /** What running `request` takes: its pipeline, its source pictures, its LoRAs, and the pipeline's request. */
  async #prepare(request: GenerationRequest, options: GenerateOptions): Promise<Prepared> {
    const pipeline = request.kind === 'inpaint' && this.#inpainting ? this.#inpainting : this.#pipeline;
    const sources = await sourcesOf(request, options.inputs);
    const loras = await this.#lorasOf(request.prompt, pipeline);
    const entry: BatchEntry = {
      request: {
        ...generationParameters(request),
        prompt: loras.prompt,
        networks: loras.patches,
        ...(sources.image ? { initImage: sources.image } : {}),
        ...(sources.mask ? { mask: sources.mask } : {}),
        preview: request.previews !== undefined,
      },
      hooks: {
        signal: options.signal,
        onProgress: (step, total, _elapsedMs, previews) => options.onProgress(step, total, previews && composeGrid(previews)),
      },
    };
    return { pipeline, sources, loras, entry };
  }

  /** The job's pictures as delivered (pasted, resized, with their infotext) from what the pipeline made. */
  async #finish(request: GenerationRequest, { pipeline, sources, loras }: Prepared, result: GenerateResult): Promise<GeneratedImages> {
    const model = this.#labelOf(pipeline);
    // A1111's inpainting pastes back through its own blurred mask, or dropped the mask ("Only masked" with no area).
    const finish = finisher(request, sources, !result.pastedBack && !result.maskDropped);
    // A1111's inpainting writes its own fields; diffusers' inpainting the blur of the paste-back.
    const { inpaint } = result.request;
    const maskFields = inpaint ? inpaintInfotext(inpaint, pipeline.info.inpainting, result.maskDropped) : request.mask ? { maskBlur: request.mask.blur } : {};
    return {
      images: await Promise.all(
        result.images.map(async ({ image, seed, variationSeed }) => ({
          image: await finish(image),
          seed: seed.toString(),
          parameters: infotextOf(request, result.request, { seed, variationSeed }, model, maskFields, {
            'TI hashes': this.#tiHashes(result.embeddings),
            'Lora hashes': loras.hashes,
            ...noiseScheduleField(request.compat, pipeline.info.schedulerConfig),
          }),
        })),
      ),
      warnings: [...loras.warnings, ...result.warnings],
      model: model.name,
      durationMs: result.timing.totalMs,
    };
  }
}

/** A job ready for its pipeline (see `StableDiffusionGenerator.#prepare`). */
interface Prepared {
  readonly pipeline: StableDiffusionPipeline;
  readonly sources: Sources;
  readonly loras: { readonly prompt: string; readonly patches: readonly NetworkPatch[]; readonly hashes: string; readonly warnings: readonly string[] };
  readonly entry: BatchEntry;
}

/** The folder's embeddings; each file that cannot be used is logged and left out. */
async function readEmbeddings(dir: string, options: GeneratorLoadOptions): Promise<readonly LoadedEmbedding[]> {
  const { embeddings, problems } = await readEmbeddingFolder(dir);
  for (const problem of problems) options.log?.('warn', 'embedding left out', { problem });
  options.log?.('info', 'embeddings read', { dir, names: embeddings.map(({ embedding }) => embedding.name) });
  return embeddings;
}

/** The folder name of a pipeline's model: how embeds and infotext name an ONNX folder given as it is. */
function folderName(pipeline: StableDiffusionPipeline): string {
  return basename(pipeline.info.dir.replace(/[\\/]+$/, ''));
}

/** The request's stored source picture and mask, decoded and brought to its working size. */
async function sourcesOf(request: GenerationRequest, inputs: GenerationInputs = {}): Promise<Sources> {
  if (request.kind === 'txt2img') return {};
  const { width, height } = request;
  if (!inputs.image) throw new FailureError('INPUT_MISSING', { what: 'picture' });
  // The same resize the pipeline would apply, done here so that the paste-back below uses the very same pixels.
  const image = await resizeImage(await decodeStored(inputs.image), width, height);
  if (request.kind !== 'inpaint') return { image };
  if (!inputs.mask) throw new FailureError('INPUT_MISSING', { what: 'mask' });
  return { image, mask: maskLuminance(await decodeStored(inputs.mask), { width, height }) };
}

async function decodeStored(png: Uint8Array): Promise<RgbImage> {
  return (await decodeImage(png, { maxPixels: STORED_PIXEL_LIMIT })).image;
}

/**
 * What turns a generated picture into the delivered one: for an inpaint, the source pasted back outside the
 * feathered mask when `pasteBack` (the pipeline did not); then the source's aspect ratio restored (see `outputSize`).
 */
function finisher(request: GenerationRequest, sources: Sources, pasteBack: boolean): (generated: RgbImage) => Promise<Rgb8Image> {
  const { image, mask } = sources;
  // diffusers' inpainting binarized the mask (A1111's pastes back through its own).
  const feathered = mask && pasteBack && featherMask(binarizeMask(mask), request.mask?.blur ?? 0);
  const size = outputSize(request);
  return async (generated) => {
    const pasted = image && feathered ? compositeOutsideMask(image, generated, feathered) : generated;
    return toRgb8(await resizeImage(pasted, size.width, size.height));
  };
}

/**
 * The A1111 infotext of one picture, with what a variation or inpaint adds (strength, mask, source job) and the
 * networks it used (`TI hashes`, `Lora hashes`: "name: hash, …"; left out when empty). A1111's noise settings,
 * schedule types and the hires pass's own sampler and prompts are those the pipeline ran (`ran`): on diffusers'
 * fallback they did nothing and are not written.
 */
function infotextOf(
  request: GenerationRequest,
  ran: RanSettings,
  { seed, variationSeed }: { readonly seed: bigint; readonly variationSeed?: bigint | undefined },
  model: ModelLabel,
  maskFields: Partial<ReturnType<typeof inpaintInfotext>>,
  fields: Record<string, string>,
): string {
  const extra: Record<string, string> = {};
  // `TI hashes`, `Lora hashes` (when the prompt called any), `Noise Schedule`.
  for (const [key, value] of Object.entries(fields)) if (value) extra[key] = value;
  if (request.hires) {
    const { sampler, prompt, negative, cfg, compat } = request;
    const hires = { ...request.hires, ...hiresSettingsRan(request.hires, ran) };
    Object.assign(extra, hiresInfotext(hires, { sampler, prompt, negativePrompt: negative, cfg, scheduleType: ran.scheduleType, compat }));
  }
  Object.assign(extra, img2imgNoiseFields(ran));
  if (request.kind !== 'txt2img') extra.Kind = KIND_LABELS[request.kind];
  if (request.mask) extra['Mask source'] = maskSourceLabel(request.mask);
  const sourceJob = sourceJobLabel(request.source);
  if (sourceJob) extra['Source job'] = sourceJob;
  return formatInfotext({
    prompt: request.prompt,
    negativePrompt: request.negative,
    steps: request.steps,
    ...a1111Fields({ ...request, negativePrompt: request.negative, scheduleType: ran.scheduleType }),
    cfgScale: request.cfg,
    seed,
    width: request.width,
    height: request.height,
    model: model.name,
    ...(model.hash ? { modelHash: model.hash } : {}),
    ...(variationSeed === undefined ? {} : { variationSeed, variationStrength: request.variationStrength }),
    ...denoisingStrengthOf(request),
    ...(request.clipSkip === undefined ? {} : { clipSkip: request.clipSkip }),
    ...(request.rng === 'cpu' ? { rng: 'CPU' as const } : {}),
    ...maskFields,
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
    version: VERSION,
  });
}

/** What the infotext takes from the request the pipeline ran rather than from the one asked for. */
type RanSettings = Pick<ResolvedRequest, 'noiseMultiplier' | 'extraNoise' | 'scheduleType' | 'sampler' | 'prompt' | 'negativePrompt' | 'hires'>;

/**
 * The hires pass's schedule type as it ran, and its own sampler and prompts as asked except where it ran the first
 * pass's (diffusers' fallback ignores them): compared within `ran`, as the asked prompt may differ from the resolved
 * one (its LoRA tags) though the hires pass took it over.
 */
function hiresSettingsRan(asked: NonNullable<GenerationRequest['hires']>, ran: RanSettings): Partial<NonNullable<GenerationRequest['hires']>> {
  const { hires } = ran;
  return {
    scheduleType: hires?.scheduleType,
    sampler: hires?.sampler === ran.sampler ? undefined : asked.sampler,
    prompt: hires?.prompt === ran.prompt ? undefined : asked.prompt,
    negativePrompt: hires?.negativePrompt === ran.negativePrompt ? undefined : asked.negativePrompt,
  };
}

/** img2img's and inpainting's strength, or a hires fix's second pass's (A1111 writes both as `Denoising strength`). */
function denoisingStrengthOf(request: GenerationRequest): { denoisingStrength?: number } {
  if (request.hires) return { denoisingStrength: request.hires.strength };
  return request.kind !== 'txt2img' && request.strength !== undefined ? { denoisingStrength: request.strength } : {};
}

