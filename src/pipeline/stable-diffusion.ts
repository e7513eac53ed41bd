import { a1111SamplerOf, type A1111Sampler } from './a1111/samplers.js';
import { sampleA1111 } from './a1111/sample.js';
import { ONLY_MASKED_BLANK, onlyMaskedFindsNoArea } from './a1111/inpaint.js';
import { asDiffusersRuns, diffusersFallbackNotice } from './a1111/diffusers-fallback.js';
import { PipelineError } from './errors.js';
import { binarizeMask, fromRgb8, resizeImage, toRgb8, type Rgb8Image, type RgbImage } from './image/index.js';
import { resizeBilinear } from './image/resize.js';
import { a1111HiresPass, hiresPass } from './hires.js';
import { img2img } from './img2img.js';
import { inpaint } from './inpaint.js';
import type { PipelineLogger } from './logger.js';
import { MODEL_FAMILIES, nativeSizeOf, type FamilyFacts } from './models/families.js';
import {
  loadStableDiffusionModel,
  maxClipSkipOf,
  type ModelFamily,
  type StableDiffusionModel,
} from './models/stable-diffusion-model.js';
import { resolveRequest, type GenerateRequest, type GenerationKind, type ResolvedRequest } from './request.js';
import type { ExecutionProvider, ExecutionProviderChoice } from './runtime/providers.js';
import type { VaeTilingOptions } from './models/vae-tiling.js';
import { SessionFactory, type SessionFactoryOptions } from './runtime/session-factory.js';
import { createScheduler, type Scheduler, type SchedulerConfig, type SchedulerId } from './schedulers/index.js';
import { PATCHED_COMPONENTS, type PatchableWeight, type PatchedComponent } from './lora/patch.js';
import type { ModelSession } from './runtime/session.js';
import { ClipTextEncoder } from './models/text-encoder.js';
import { Unet } from './models/unet.js';
import { createBatchNoise } from './seeds.js';
import type { TextualInversion } from './tokenizer/index.js';
import { decodeImages, encodePrompt, throwIfCancelled, type GenerateHooks, type Job } from './steps.js';
import { TimingRecorder, type GenerationTiming } from './timing.js';
import { txt2img } from './txt2img.js';
import { countHiresCalls } from './model-calls.js';
import { UnetBatch, type UnetBatchMember } from './unet-batch.js';

/** How {@link StableDiffusionPipeline.load} loads a model. */
export interface PipelineOptions {
  /**
   * Where the models run: `auto` tries CUDA, DirectML (Windows), CoreML (macOS), WebGPU, then the CPU, and
   * logs which one each model loaded on; an explicit provider that cannot load fails with `PROVIDER_UNAVAILABLE`.
   * @default 'auto'
   */
  readonly provider?: ExecutionProviderChoice;
  /** A folder for ONNX Runtime's optimized graphs, to cut start-up time after the first load. @default no cache */
  readonly cacheDir?: string;
  /** Receives load and fallback messages (`(level, msg, fields) => …`). */
  readonly log?: PipelineLogger;
  /**
   * Where sessions are created through the native bridge to ONNX Runtime's C API, which passes the CUDA provider
   * the options onnxruntime-node cannot (`auto`: on CUDA; `on`: also on the CPU; `off`); the plain binding runs
   * where the bridge cannot load, with one log line. Off unless asked for (see DEFAULT_NATIVE_BRIDGE for why).
   * @default 'off'
   */
  readonly nativeBridge?: SessionFactoryOptions['nativeBridge'];
  /** CUDA provider options over the bridge's own (a value `''` removes one). @default {} */
  readonly cudaOptions?: SessionFactoryOptions['cudaOptions'];
  /**
   * Whether the bridge runs a job's UNet steps through ONNX Runtime's IoBinding (the text conditioning bound once
   * per job, the prediction's buffer reused); the benchmark turns it off to measure it. @default true
   */
  readonly ioBinding?: SessionFactoryOptions['ioBinding'];
  /**
   * CUDA graphs for the UNet (through the bridge, on CUDA): a job's steps run on buffers kept on the GPU, one graph
   * captured per picture size and replayed. `auto`: where the bridge runs the UNet on CUDA; `on`: the same, with a
   * line in the log where that cannot be (a UNet not in the CUDA form, the bridge off, another provider); `off`. Off
   * unless asked for (see DEFAULT_CUDA_GRAPHS for why).
   * @default 'off'
   */
  readonly cudaGraph?: SessionFactoryOptions['cudaGraph'];
  /**
   * When a picture is decoded in tiles (diffusers' `tiled_decode`: quarter-overlapping tiles blended linearly), for
   * pictures whose decode would not fit: `mode` `auto` (when the estimated decode memory exceeds `memoryBudgetMB`,
   * default 4096), `always` (diffusers' `enable_tiling()`: whenever the picture is larger than a tile) or `never`;
   * `tileSize` in pixels (default the model's native size, as diffusers' VAE `sample_size`). Pictures are always
   * decoded one at a time (diffusers' slicing).
   * @default { mode: 'auto' }
   */
  readonly vaeTiling?: VaeTilingOptions;
  /**
   * Textual-inversion embeddings that prompts call by name (A1111's rule): SD 1.x / 2.x's (one set of vectors) for
   * those models, SDXL's (`secondVectors` too) for SDXL. Those of another family or width than the text encoders',
   * or all of them when a text encoder takes none (exports other than dreamcord's), are left out with a warning in
   * `log` saying why. @default none
   */
  readonly embeddings?: readonly TextualInversion[];
  /**
   * Whether `load` runs one 1-step generation at the model's native size before it returns, so that the first
   * member's job does not pay ONNX Runtime's first-run costs (on CUDA: cuDNN's convolution algorithm search and the
   * memory arena's growth, seconds for SD 1.5).
   * @default true when the UNet runs on a GPU provider (not the CPU) and the model does txt2img (not inpainting)
   */
  readonly warmUp?: boolean;
  /**
   * Keys laid over the model's scheduler config, for what its files do not say: a v-prediction fine-tune
   * (`prediction_type: 'v_prediction'`), a model trained with zero terminal SNR (`rescale_betas_zero_snr: true`).
   * @default none
   */
  readonly schedulerOverrides?: SchedulerConfig;
}

/** What was loaded, for logs and `/about`-style replies. */
export interface ModelInfo {
  readonly dir: string;
  readonly family: ModelFamily;
  /** `epsilon`, or `v_prediction` (SD 2.x 768-v models). */
  readonly predictionType: string;
  /** The side of the square the model was trained at, from its family's row in `MODEL_FAMILIES`. */
  readonly nativeSize: number;
  /** The other sizes its family was trained at (SDXL's aspect buckets; none for SD 1.x / 2.x). */
  readonly sizeBuckets: FamilyFacts['sizeBuckets'];
  /** True for a 9-channel inpainting UNet (it cannot do txt2img or img2img). */
  readonly inpainting: boolean;
  /** False when the folder has no VAE encoder (txt2img only). */
  readonly imageInput: boolean;
  /** The textual-inversion embeddings prompts may call, by name. */
  readonly embeddings: readonly string[];
  /**
   * The weights a LoRA may change, per component, for a model dreamcord converted (undefined for other exports,
   * which cannot take `networks`).
   */
  readonly patchableWeights: Readonly<Record<PatchedComponent, readonly PatchableWeight[]>> | undefined;
  /** The largest `clipSkip` the text encoder offers: its layer count for dreamcord's conversions, else 1. */
  readonly maxClipSkip: number;
  /** The model's `scheduler/scheduler_config.json` (plain JSON), for `countModelCalls`. */
  readonly schedulerConfig: SchedulerConfig;
  /** The execution provider each component runs on. */
  readonly providers: Readonly<Record<'textEncoder' | 'unet' | 'vaeDecoder', ExecutionProvider>> & {
    readonly vaeEncoder?: ExecutionProvider;
  };
}

/** One generated image. */
export interface GeneratedImage {
  /** Float32 HWC RGB in [0, 1], before any 8-bit rounding (diffusers' `output_type="np"`). */
  readonly image: RgbImage;
  /** The same, rounded to 8 bits (what a PNG holds). */
  readonly rgb8: Rgb8Image;
  /** The seed that re-makes this image: alone in `per-image` mode, as part of the same batch in `batch` mode. */
  readonly seed: bigint;
  /** With a variation strength (A1111 mode): this image's variation seed. */
  readonly variationSeed?: bigint;
}

/** One request of {@link StableDiffusionPipeline.generateBatch}. */
export interface BatchEntry {
  readonly request: GenerateRequest;
  readonly hooks?: GenerateHooks;
}

/** How {@link StableDiffusionPipeline.generateBatch} runs its batch. */
export interface BatchOptions {
  /**
   * UNet batch rows per model run (2 per image with guidance, 1 without): bounds the memory of a run. A request
   * of more rows than this still runs, alone. Minimum: 1. @default unbounded
   */
  readonly maxRows?: number;
}

/** What {@link StableDiffusionPipeline.generate} returns. */
export interface GenerateResult {
  readonly images: readonly GeneratedImage[];
  /**
   * The request with every default filled in: the seed actually used, the sampler name resolved to its id,
   * the input images as used.
   */
  readonly request: ResolvedRequest;
  /**
   * Whether the pictures hold the init image exactly outside the mask already (A1111 inpainting's overlay, through
   * its blurred mask); otherwise an inpainting caller pastes the original back itself.
   */
  readonly pastedBack: boolean;
  /**
   * Whether an inpainting's mask was dropped: A1111's "Only masked" found no area in it (the blurred mask marks
   * nothing) and, as A1111 does, reworked the whole picture as img2img. Nothing is to be pasted back, and A1111
   * writes no `Inpaint area`, `Masked area padding` or `Masked content` (see `inpaintInfotext`).
   */
  readonly maskDropped: boolean;
  /** What prompt parsing dropped or ignored, as sentences for the user. */
  readonly warnings: readonly string[];
  /** The embeddings the prompt and the negative prompt called, each once, in order of first use. */
  readonly embeddings: readonly string[];
  readonly timing: GenerationTiming;
}

/**
 * `hooks` with each progress report moved on by `before` model calls, out of `before + after` more than the pass
 * reports: the two passes of a hires fix count as one generation.
 */
function progressShifted(hooks: GenerateHooks, before: number, after: number): GenerateHooks {
  const { onProgress } = hooks;
  if (!onProgress || (before === 0 && after === 0)) return hooks;
  return { ...hooks, onProgress: (step, total, elapsedMs, preview) => onProgress(before + step, before + total + after, elapsedMs, preview) };
}

/** The prediction types A1111's sampling takes (`compVisScheduleOf`); a model of another draws with diffusers'. */
const A1111_PREDICTIONS: readonly string[] = ['epsilon', 'v_prediction'];

const TASKS: Readonly<Record<GenerationKind, (job: Job) => Promise<Float32Array>>> = { txt2img, img2img, inpaint };

/**
 * A Stable Diffusion 1.x / 2.x model loaded for generation (diffusers / optimum ONNX folder). Sessions are
 * created once and serve every request; each request gets its own scheduler, noise and buffers, so requests
 * may run concurrently.
 *
 * @example
 * const pipeline = await StableDiffusionPipeline.load('models/sd15', { provider: 'auto' });
 * const { images } = await pipeline.generate({ prompt: 'a red fox in the snow', seed: 7, steps: 25 });
 */
export class StableDiffusionPipeline {
  readonly info: ModelInfo;
  readonly #model: StableDiffusionModel;
  readonly #sessions: SessionFactory;

  private constructor(model: StableDiffusionModel, sessions: SessionFactory) {
    this.#model = model;
    this.#sessions = sessions;
    this.info = {
      dir: model.folder.dir,
      family: model.family,
      predictionType: model.predictionType,
      nativeSize: nativeSizeOf(model.family, model.predictionType),
      sizeBuckets: MODEL_FAMILIES[model.family].sizeBuckets,
      inpainting: model.unet.inChannels === 9,
      imageInput: model.vaeEncoder !== undefined,
      embeddings: model.embeddings.names,
      maxClipSkip: maxClipSkipOf(model),
      patchableWeights: model.patching?.weights,
      schedulerConfig: model.folder.schedulerConfig,
      providers: {
        textEncoder: model.textEncoder.session.provider,
        unet: model.unet.session.provider,
        vaeDecoder: model.vaeDecoder.session.provider,
        ...(model.vaeEncoder ? { vaeEncoder: model.vaeEncoder.session.provider } : {}),
      },
    };
  }

  /**
   * Loads the model folder `dir` (`model_index.json`, `text_encoder/`, `unet/`, `vae_decoder/`, optional
   * `vae_encoder/`, `tokenizer/`, `scheduler/`).
   * @throws PipelineError `MODEL_MISSING_FILE`, `MODEL_CORRUPT`, `MODEL_UNSUPPORTED`, `MODEL_MISMATCH`,
   *   `PROVIDER_UNAVAILABLE`, each naming the file.
   */
  static async load(dir: string, options: PipelineOptions = {}): Promise<StableDiffusionPipeline> {
    const sessions = new SessionFactory(options);
    try {
      const model = await loadStableDiffusionModel(dir, sessions, options);
      const pipeline = new StableDiffusionPipeline(model, sessions);
      if (options.warmUp ?? (pipeline.info.providers.unet !== 'cpu' && !pipeline.info.inpainting)) {
        const started = performance.now();
        const size = pipeline.info.nativeSize;
        await pipeline.generate({ prompt: 'warm-up', seed: 0, steps: 1, width: size, height: size });
        options.log?.('info', 'pipeline warmed up', { dir, ms: Math.round(performance.now() - started) });
      }
      options.log?.('info', 'pipeline ready', { dir, family: model.family, unetChannels: model.unet.inChannels });
      return pipeline;
    } catch (error) {
      await sessions.releaseAll();
      throw error;
    }
  }

  /**
   * Generates `request.count` images: txt2img, img2img (with `initImage`) or inpainting (with `initImage` and
   * `mask`).
   * @throws PipelineError `INVALID_REQUEST` (a field out of range, a task this model cannot do), `CANCELLED`,
   *   `DEVICE_OOM`, `RUNTIME_ERROR`.
   */
  generate(request: GenerateRequest, hooks: GenerateHooks = {}): Promise<GenerateResult> {
    return this.#generate(request, hooks, undefined);
  }

  /**
   * Generates several requests together: each as {@link generate} makes it alone (its own prompt encoding,
   * scheduler, seeds, progress and cancellation; the same pictures), with the UNet evaluations of every denoising
   * step run as one model batch, `2·count` rows per request with guidance. Requests batch fully when they share
   * the model, size, steps, sampler, schedule, CFG, LoRA set, clip skip and prompt chunk count (see `batchKeyOf`
   * in src/generator); calls that cannot share a run still work, in turn. A request that fails or is cancelled
   * leaves the batch (its rows are dropped from the next step on) without touching the others.
   * @returns one promise per entry, in order, settling as `generate(entry.request, entry.hooks)` would.
   */
  generateBatch(entries: readonly BatchEntry[], options: BatchOptions = {}): Promise<GenerateResult>[] {
    const batch = new UnetBatch(Math.max(entries.length, 1), options.maxRows);
    return entries.map((entry, i) => this.#generate(entry.request, entry.hooks ?? {}, batch.members[i]));
  }

  async #generate(request: GenerateRequest, hooks: GenerateHooks, member: UnetBatchMember | undefined): Promise<GenerateResult> {
    try {
      return await this.#generateIn(request, hooks, member);
    } finally {
      member?.leave();
    }
  }

  async #generateIn(request: GenerateRequest, hooks: GenerateHooks, member: UnetBatchMember | undefined): Promise<GenerateResult> {
    const timing = new TimingRecorder();

    // 1. Check the request; bring the input images to the working size (A1111's "Only masked" cuts its own).
    const checked = resolveRequest(request);
    // A1111's sampling is ported for noise and v prediction (k-diffusion's CompVisDenoiser / CompVisVDenoiser).
    const a1111Ported = A1111_PREDICTIONS.includes(this.#model.predictionType);
    const a1111Sampler = a1111Ported ? a1111SamplerOf(checked) : undefined;
    const resolved = await this.#prepareInputs(checked, a1111Sampler !== undefined);
    throwIfCancelled(hooks.signal);
    if (a1111Sampler) return this.#generateA1111(resolved, a1111Sampler, hooks, timing, member);
    // A1111's "Only masked" with a mask that marks nothing, here too as A1111 does: the whole picture reworked
    // (diffusers' inpainting with everything to repaint: img2img, and an inpainting UNet conditioned on a mask of
    // ones, as A1111's), nothing pasted back, and the member told. Else the original would come back unchanged.
    const { mask, inpaint: a1111Inpaint, width, height } = resolved;
    const maskDropped = mask !== undefined && a1111Inpaint !== undefined && onlyMaskedFindsNoArea(mask, a1111Inpaint);
    const task: ResolvedRequest = maskDropped ? { ...resolved, mask: { width, height, channels: 1, data: new Float32Array(width * height).fill(1) } } : resolved;
    // A1111's settings without a counterpart in diffusers' pipeline: the member is told which did nothing, and the
    // request returned (its infotext) holds what ran.
    const diffusersFallback = !a1111Ported && a1111SamplerOf(resolved) !== undefined;
    const ran = diffusersFallback ? asDiffusersRuns(resolved) : resolved;
    const fallback = { predictionType: this.#model.predictionType, inpaintingModel: this.info.inpainting, maskDropped };
    const unhonoured = diffusersFallback ? diffusersFallbackNotice(resolved, ran, fallback) : undefined;
    const notices = [...(maskDropped ? [ONLY_MASKED_BLANK] : []), ...(unhonoured ? [unhonoured] : [])];

    // 2. A fresh scheduler and the batch's noise.
    const scheduler = this.#createScheduler(resolved.sampler);
    const noise = createBatchNoise(resolved.seed, resolved.count, resolved.rng, resolved.seedMode);

    // 3. Merge the request's LoRAs (or find them merged); encode the prompt and the negative prompt.
    const model = await this.#modelFor(resolved.networks, member);
    const conditioning = await encodePrompt(model, resolved, timing);

    // 4. Run the task's denoising loop (both passes of a hires fix, counted as one in the progress reports).
    const { hires } = resolved;
    // Diffusers' schedulers run both passes here (also in A1111 mode, for samplers without a port and SDXL).
    const hiresCalls = hires ? countHiresCalls({ sampler: resolved.sampler, kind: resolved.kind, hires }, this.#model.folder.schedulerConfig) : 0;
    const firstJob: Job = {
      model,
      request: task,
      conditioning,
      scheduler,
      noise,
      hooks: progressShifted(hooks, 0, hiresCalls),
      timing,
      latentWidth: resolved.width / 8,
      latentHeight: resolved.height / 8,
    };
    const firstLatents = await TASKS[task.kind](firstJob);
    const { job, latents } = hires
      ? await hiresPass(
          { ...firstJob, hooks: progressShifted(hooks, timing.steps, 0) },
          firstLatents,
          this.#createScheduler(resolved.sampler),
        )
      : { job: firstJob, latents: firstLatents };

    // 5. Decode (after leaving a batch: the others need not wait for this).
    member?.leave();
    const images = await decodeImages(job, latents);
    return {
      images: images.map((image, i) => ({ image, rgb8: toRgb8(image), seed: noise.seeds[i] ?? resolved.seed })),
      pastedBack: false,
      maskDropped,
      request: ran,
      warnings: [...conditioning.warnings, ...notices],
      embeddings: conditioning.embeddings,
      timing: timing.result(),
    };
  }

  /** A request in A1111 mode whose sampler A1111 sampling runs: A1111's sampling, then the same decoding. */
  async #generateA1111(
    resolved: ResolvedRequest,
    sampler: A1111Sampler,
    hooks: GenerateHooks,
    timing: TimingRecorder,
    member: UnetBatchMember | undefined,
  ): Promise<GenerateResult> {
    const model = await this.#modelFor(resolved.networks, member);
    const { hires } = resolved;
    const hiresCalls = hires ? countHiresCalls({ ...resolved, hires }, this.#model.folder.schedulerConfig) : 0;
    let firstCalls = 0;
    const firstHooks: GenerateHooks = {
      ...hooks,
      onProgress: (step, total, elapsedMs, preview) => {
        firstCalls = step;
        hooks.onProgress?.(step, total + hiresCalls, elapsedMs, preview);
      },
    };
    const sampled = await sampleA1111(model, resolved, sampler, firstHooks, timing);
    const first = { model, request: resolved, timing, hooks, latentWidth: resolved.width / 8, latentHeight: resolved.height / 8 };
    // A hires fix's second pass: A1111's `sample_hr_pass`, with the first pass's sampler (A1111's default).
    const second = hires ? await a1111HiresPass({ ...first, hooks: progressShifted(hooks, firstCalls, 0) }, sampled.latents, sampler) : undefined;
    member?.leave();
    const decoded = await decodeImages(second?.job ?? first, second?.sampled.latents ?? sampled.latents);
    // Inpainting: the original composited on outside the mask, in A1111's 8 bits.
    const { overlay } = sampled;
    const images = overlay ? decoded.map((image) => fromRgb8(overlay(image))) : decoded;
    return {
      images: images.map((image, i) => {
        const variationSeed = sampled.variationSeeds?.[i];
        return { image, rgb8: toRgb8(image), seed: sampled.seeds[i] ?? resolved.seed, ...(variationSeed === undefined ? {} : { variationSeed }) };
      }),
      pastedBack: overlay !== undefined,
      maskDropped: sampled.maskDropped,
      request: resolved,
      warnings: sampled.warnings,
      embeddings: sampled.embeddings,
      timing: timing.result(),
    };
  }

  /** Releases every ONNX Runtime session. The pipeline cannot generate afterwards. */
  async dispose(): Promise<void> {
    for (const merged of Object.values(this.#model.patching?.merged ?? {})) await merged.release();
    await this.#sessions.releaseAll();
  }

  /** The model for a request: its LoRAs merged, its UNet routed through its batch when it has one. */
  async #modelFor(networks: ResolvedRequest['networks'], member: UnetBatchMember | undefined): Promise<StableDiffusionModel> {
    const model = await this.#patchedModel(networks);
    return member ? { ...model, unet: model.unet.routedThrough(member.router) } : model;
  }

  /** The model with `networks` merged into the components they change (itself when there are none). */
  async #patchedModel(networks: ResolvedRequest['networks']): Promise<StableDiffusionModel> {
    if (networks.length === 0) return this.#model;
    const { patching } = this.#model;
    if (!patching) {
      const message = `${this.info.dir} cannot take LoRAs: it has no weight tables (a checkpoint converted by dreamcord has them)`;
      throw new PipelineError('INVALID_REQUEST', message, { field: 'networks' });
    }
    // The merged session of each component the networks change (the component itself where they change none).
    const mergedFor = async (component: PatchedComponent): Promise<ModelSession | undefined> => {
      const merged = patching.merged[component];
      return merged && networks.some((patch) => patch.deltas[component].length > 0) ? merged.session(networks) : undefined;
    };
    // One after another: each merge reads its component's weights whole (SDXL's UNet: 5 GB in fp16).
    const merged: Partial<Record<PatchedComponent, ModelSession>> = {};
    for (const component of PATCHED_COMPONENTS) merged[component] = await mergedFor(component);
    const { text_encoder: textEncoder, text_encoder_2: textEncoder2, unet } = merged;
    const { second } = this.#model;
    return {
      ...this.#model,
      textEncoder: textEncoder ? new ClipTextEncoder(textEncoder) : this.#model.textEncoder,
      second: second && textEncoder2 ? { ...second, textEncoder: new ClipTextEncoder(textEncoder2) } : second,
      unet: unet ? new Unet(unet) : this.#model.unet,
    };
  }

  /**
   * Checks that this model can do the request's task and resizes its images to `width × height`, but for A1111's
   * "Only masked" where A1111's inpainting runs (`a1111Inpainting`): it cuts its area from the picture at the
   * picture's own size (and pastes it back there).
   */
  async #prepareInputs(request: ResolvedRequest, a1111Inpainting: boolean): Promise<ResolvedRequest> {
    const { kind, width, height } = request;
    if (this.info.inpainting && kind !== 'inpaint') {
      throw new PipelineError(
        'INVALID_REQUEST',
        `${this.info.dir} is an inpainting model: give an \`initImage\` and a \`mask\` (it cannot do ${kind})`,
        { field: 'initImage' },
      );
    }
    if (kind !== 'txt2img' && !this.info.imageInput) {
      throw new PipelineError(
        'INVALID_REQUEST',
        `${this.info.dir} has no vae_encoder, so it cannot start from an image (${kind})`,
        { field: 'initImage' },
      );
    }
    if (request.clipSkip > this.info.maxClipSkip) {
      throw new PipelineError(
        'INVALID_REQUEST',
        `Expected \`clipSkip\` to be at most ${this.info.maxClipSkip} for ${this.info.dir}, got ${request.clipSkip}: ` +
          'its text encoder has no earlier layers as outputs (a checkpoint converted by dreamcord has them)',
        { field: 'clipSkip' },
      );
    }
    const ownSize = a1111Inpainting && request.inpaint?.onlyMasked;
    const initImage = request.initImage && (ownSize ? request.initImage : await resizeImage(request.initImage, width, height));
    const maskSize = initImage ?? { width, height };
    // Like the image module's `maskLuminance`: bilinear between pixel centres keeps edges in place.
    const sized =
      request.mask &&
      (request.mask.width === maskSize.width && request.mask.height === maskSize.height ? request.mask : resizeBilinear(request.mask, maskSize.width, maskSize.height));
    // A1111's inpainting keeps a grey mask's levels (`create_binary_mask` of an opaque mask is its 'L' image);
    // diffusers' mask processor binarizes at 0.5 (`do_binarize`).
    const mask = sized && (request.inpaint ? sized : binarizeMask(sized));
    return { ...request, initImage, mask };
  }

  /** A fresh scheduler of kind `id`, configured by the model's `scheduler_config.json`. */
  #createScheduler(id: SchedulerId): Scheduler {
    try {
      return createScheduler(id, this.#model.folder.schedulerConfig);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new PipelineError(
        'INVALID_REQUEST',
        `Sampler ${id} cannot use the scheduler config of ${this.info.dir}: ${reason}`,
        { field: 'sampler' },
        { cause: error },
      );
    }
  }
}
