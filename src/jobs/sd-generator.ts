import { basename } from 'node:path';
import { formatInfotext } from '../pipeline/image/infotext.js';
import type { PipelineLogger } from '../pipeline/logger.js';
import type { ExecutionProviderChoice } from '../pipeline/runtime/providers.js';
import { samplerLabel } from '../pipeline/schedulers/names.js';
import { StableDiffusionPipeline } from '../pipeline/stable-diffusion.js';
import type { GenerateOptions, GeneratedImages, ImageGenerator } from './generator.js';
import type { GenerationRequest } from './request.js';

/** What dreamcord writes as `Version` in infotext. */
const VERSION = 'dreamcord 0.1.0';

/** The bot's image generator: the Stable Diffusion pipeline, with A1111 seeds and infotext. */
export class StableDiffusionGenerator implements ImageGenerator {
  readonly modelName: string;
  readonly nativeSize: number;
  readonly #pipeline: StableDiffusionPipeline;

  private constructor(pipeline: StableDiffusionPipeline) {
    this.#pipeline = pipeline;
    this.modelName = basename(pipeline.info.dir.replace(/[\\/]+$/, ''));
    // SD 2.x v-prediction models were trained at 768×768; SD 1.x and SD 2.x base at 512×512.
    this.nativeSize = pipeline.info.family === 'sd2' && pipeline.info.predictionType === 'v_prediction' ? 768 : 512;
  }

  static async load(
    modelDir: string,
    options: { readonly provider: ExecutionProviderChoice; readonly cacheDir?: string; readonly log?: PipelineLogger },
  ): Promise<StableDiffusionGenerator> {
    return new StableDiffusionGenerator(await StableDiffusionPipeline.load(modelDir, options));
  }

  /** Which execution provider each model component runs on. */
  get providers(): StableDiffusionPipeline['info']['providers'] {
    return this.#pipeline.info.providers;
  }

  async generate(request: GenerationRequest, options: GenerateOptions): Promise<GeneratedImages> {
    if (request.kind !== 'txt2img') throw new Error(`${request.kind} is not supported by this generator yet.`);
    const result = await this.#pipeline.generate(
      {
        prompt: request.prompt,
        negativePrompt: request.negative,
        promptSyntax: request.promptSyntax,
        seed: BigInt(request.seed),
        // A1111's convention: image i has its own generator seeded with seed + i, so each can be re-made alone.
        seedMode: 'per-image',
        rng: request.rng,
        steps: request.steps,
        cfg: request.cfg,
        sampler: request.sampler,
        width: request.width,
        height: request.height,
        count: request.count,
      },
      { signal: options.signal, onProgress: (step, total) => options.onProgress(step, total) },
    );
    const label = samplerLabel(request.sampler);
    return {
      images: result.images.map(({ rgb8, seed }) => ({
        image: rgb8,
        seed: seed.toString(),
        parameters: formatInfotext({
          prompt: request.prompt,
          negativePrompt: request.negative,
          steps: request.steps,
          sampler: label.sampler,
          ...(label.schedule ? { scheduleType: label.schedule } : {}),
          cfgScale: request.cfg,
          seed,
          width: request.width,
          height: request.height,
          model: this.modelName,
          ...(request.rng === 'cpu' ? { rng: 'CPU' as const } : {}),
          version: VERSION,
        }),
      })),
      warnings: result.warnings,
      model: this.modelName,
      durationMs: result.timing.totalMs,
    };
  }
}
