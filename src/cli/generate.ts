import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  a1111Fields,
  noiseScheduleField,
  img2imgNoiseFields,
  img2imgNoiseFor,
  decodeImage,
  InfotextError,
  PARAMETERS_KEYWORD,
  readPngText,
  requestFromInfotext,
  type GeneratedImage,
  type GenerationParameters,
  type InfotextRequest,
  type InpaintOptions,
  type MaskedContent,
  encodePng,
  extractLoraTags,
  formatInfotext,
  hiresInfotext,
  inpaintInfotext,
  ImageInputError,
  isPipelineError,
  maskLuminance,
  CUDA_GRAPH_CHOICES,
  DEFAULT_CUDA_GRAPHS,
  DEFAULT_NATIVE_BRIDGE,
  NATIVE_BRIDGE_CHOICES,
  parseProviderChoice,
  PipelineError,
  resolveRequest,
  StableDiffusionPipeline,
  type GenerateRequest,
  type GenerateResult,
  type NetworkPatch,
  type ProgressCallback,
  type ResolvedRequest,
  type RgbImage,
} from '../pipeline/index.js';
import { readManifest } from '../convert/convert.js';
import { prepareCliModel } from './cli-model.js';
import { embeddingHashes, LoraLibrary, readEmbeddingFolder, type LoadedEmbedding } from '../networks/index.js';
import { UsageError, type CliCommand, type CliIO } from './command.js';
import { progressBar } from './progress-bar.js';

const USAGE = `Usage: dreamcord generate --model DIR (--prompt TEXT | --infotext FILE) [options]

Generates images with the Stable Diffusion model DIR.
  --model DIR              an ONNX model folder (model_index.json, unet/, text_encoder/, vae_decoder/, …), or a
                           .safetensors checkpoint or diffusers folder, converted once into MODEL_CACHE_DIR
                           (default data/model-cache) as MODEL_DTYPE (fp32 or fp16, default fp32)
  --prompt TEXT            what to draw
  --infotext FILE          remake an A1111 picture: FILE holds its parameters block (as A1111 shows it under the
                           picture, or Civitai under an image), or is a PNG with a parameters chunk; runs with
                           --compat a1111; the flags given override its fields; fields not honoured are listed
  --negative TEXT          what to avoid (default none)
  --seed N                 0 … 2^64−1 (default random)
  --steps N                denoising steps, 1–150 (default 25)
  --cfg X                  guidance scale, 0–50; ≤ 1 turns guidance off (default 7)
  --width N, --height N    multiples of 8, 64–4096 (default the init image's size, else 512)
  --sampler ID             an id (euler_a, dpmpp_2m_karras, …) or an A1111 name ("DPM++ 2M Karras")
                           (default dpmpp_2m_karras)
  --count N                images in the batch, 1–16 (default 1)
  --clip-skip N            A1111's clip skip, 1–12: the text encoder's N-th layer from the end (default 1)
  --rng cpu|gpu            torch's CPU generator (diffusers) or its CUDA generator (A1111) (default gpu)
  --seed-mode MODE         batch: one generator for the batch (diffusers); per-image: seed+i per image (A1111)
                           (default batch with --rng cpu, per-image with --rng gpu)
  --prompt-syntax SYNTAX   plain (diffusers, 75 tokens) or a1111 (weights, long prompts) (default a1111)
  --compat MODE            diffusers (diffusers' schedulers) or a1111 (AUTOMATIC1111's samplers, schedules, noise
                           and guidance: the same picture as A1111 v1.10 for the same parameters) (default diffusers)
  --schedule-type NAME     with --compat a1111: A1111's Schedule type (Automatic, Uniform, Karras, Exponential,
                           Polyexponential, SGM Uniform, KL Optimal, Align Your Steps, Simple, Normal, DDIM)
                           (default Automatic: the sampler's own)
  --emphasis MODE          A1111's emphasis mode for (word:1.2) weights: Original, No norm or None (default Original)
  --ensd N                 with --compat a1111: A1111's eta noise seed delta (ENSD) (default 0)
  --variation-seed N       with --compat a1111: A1111's variation seed (default random with a strength)
  --variation-strength X   with --compat a1111: how far towards the variation seed's noise, 0–1 (default 0)
  --init-image FILE        start from this PNG, JPEG or WebP (img2img)
  --strength X             with --init-image: how much to change, (0, 1] (default 0.75; 1 when inpainting)
  --noise-multiplier X     with --init-image and --compat a1111: A1111's img2img "Noise multiplier", 0–1.5 (default 1)
  --extra-noise X          with --compat a1111 and --init-image or a hires fix: A1111's "Extra noise", 0–1 (default 0)
  --mask FILE              with --init-image: inpaint where the mask is white (resized to the image; grey is
                           A1111's partial repaint with --compat a1111, diffusers binarizes at half)
  --mask-blur N            with --mask, --compat a1111: A1111's Mask blur, pixels 0–64 (default 4)
  --masked-content NAME    with --mask, --compat a1111: original, fill, "latent noise" or "latent nothing" (default original)
  --invert-mask            with --mask, --compat a1111: A1111's Mask mode "Inpaint not masked"
  --mask-weight X          with --mask, --compat a1111: A1111's Conditional mask weight for inpainting models, 0–1
  --only-masked            with --mask, --compat a1111: A1111's Inpaint area "Only masked": the mask's area drawn at
                           the size and pasted back into the picture, which keeps its own size
  --masked-padding N       with --only-masked: A1111's Only masked padding, pixels 0–256 (default 32)
                           (default 1)
  --embeddings-dir DIR     textual-inversion embeddings (.safetensors) that the prompts call by file name
  --lora-dir DIR           where the LoRAs the prompt calls (<lora:name:weight>) are: DIR/name.safetensors
  --lora NAME[:W[:UNET_W]] a LoRA from --lora-dir at weight W (default 1; UNET_W defaults to W), as the tag
                           <lora:NAME:W:UNET_W> would; may be repeated
  --ep PROVIDER            auto, cuda, dml, coreml, webgpu or cpu (default auto)
  --cuda-graphs MODE       auto, on or off: the UNet as CUDA graphs through the native bridge on CUDA (auto: where
                           the bridge runs it on CUDA; on: the same, with a warning where it cannot) (default
                           ONNX_CUDA_GRAPHS, else ${DEFAULT_CUDA_GRAPHS})
  --cache-dir DIR          keep ONNX Runtime's optimized graphs here for faster start-up
  --out FILE.png           write FILE.png, or FILE-1.png, FILE-2.png, … for several images, with A1111's
                           parameters chunk (default dreamcord-SEED.png unless --raw is given)
  --raw FILE.f32           write every image's float32 RGB values in [0, 1] (image × height × width × 3,
                           little-endian), before 8-bit rounding
ONNX_NATIVE_BRIDGE (auto, on or off, default ${DEFAULT_NATIVE_BRIDGE}) creates the sessions through the native bridge to ONNX Runtime's
C API, as the bot's setting does; ONNX_CUDA_GRAPHS is --cuda-graphs's default, as the bot reads it.
Progress and a summary (provider, seconds, ms per step) go to stderr.`;

const OPTIONS = {
  model: { type: 'string' },
  prompt: { type: 'string' },
  infotext: { type: 'string' },
  negative: { type: 'string' },
  seed: { type: 'string' },
  steps: { type: 'string' },
  cfg: { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  sampler: { type: 'string' },
  count: { type: 'string' },
  'clip-skip': { type: 'string' },
  rng: { type: 'string' },
  'seed-mode': { type: 'string' },
  'prompt-syntax': { type: 'string' },
  compat: { type: 'string' },
  'schedule-type': { type: 'string' },
  emphasis: { type: 'string' },
  ensd: { type: 'string' },
  'variation-seed': { type: 'string' },
  'variation-strength': { type: 'string' },
  'noise-multiplier': { type: 'string' },
  'extra-noise': { type: 'string' },
  'init-image': { type: 'string' },
  strength: { type: 'string' },
  mask: { type: 'string' },
  'mask-blur': { type: 'string' },
  'masked-content': { type: 'string' },
  'invert-mask': { type: 'boolean' },
  'mask-weight': { type: 'string' },
  'only-masked': { type: 'boolean' },
  'masked-padding': { type: 'string' },
  'embeddings-dir': { type: 'string' },
  'lora-dir': { type: 'string' },
  lora: { type: 'string', multiple: true },
  ep: { type: 'string' },
  'cuda-graphs': { type: 'string' },
  'cache-dir': { type: 'string' },
  out: { type: 'string' },
  raw: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** Largest input image accepted, in pixels (a 4096 × 4096 working size at most, so larger files are refused). */
const MAX_INPUT_PIXELS = 4096 * 4096;

/** `dreamcord generate`: one generation from the command line, through the same pipeline the bot uses. */
export const generateCommand: CliCommand = {
  name: 'generate',
  summary: 'Generate images with a Stable Diffusion ONNX model (txt2img, img2img, inpainting)',
  usage: USAGE,
  async run(argv, io) {
    const values = parseGenerateArgs(argv);
    const pasted = forThisRun(await readInfotextFlag(values), values);
    const request = await buildRequest(values, pasted);
    for (const field of pasted?.ignored ?? []) io.stderr.write(`warning: not honoured: ${field}\n`);
    if (pasted?.inpaint && values.mask === undefined) io.stderr.write(`warning: not honoured: the block's inpainting settings (no --mask)\n`);
    if (pasted?.request.strength !== undefined && values['init-image'] === undefined) {
      io.stderr.write(`warning: not honoured: Denoising strength: ${pasted.request.strength} (no --init-image)\n`);
    }
    const source = required(values.model, '--model DIR');
    const provider = usage(() => parseProviderChoice(values.ep ?? 'auto'));
    const nativeBridge = choiceSetting('ONNX_NATIVE_BRIDGE', NATIVE_BRIDGE_CHOICES, process.env.ONNX_NATIVE_BRIDGE || DEFAULT_NATIVE_BRIDGE);
    const cudaGraph = values['cuda-graphs'] === undefined
      ? choiceSetting('ONNX_CUDA_GRAPHS', CUDA_GRAPH_CHOICES, process.env.ONNX_CUDA_GRAPHS || DEFAULT_CUDA_GRAPHS)
      : choiceSetting('--cuda-graphs', CUDA_GRAPH_CHOICES, values['cuda-graphs']);
    const model = (await prepareCliModel(source, io, provider)).dir;
    const embeddings = await readCliEmbeddings(values['embeddings-dir'], io);
    const pipeline = await StableDiffusionPipeline.load(model, {
      provider,
      nativeBridge,
      cudaGraph,
      ...(values['cache-dir'] === undefined ? {} : { cacheDir: values['cache-dir'] }),
      embeddings: embeddings.map(({ embedding }) => embedding),
      log: (level, message, fields) => {
        if (level === 'warn') io.stderr.write(`warning: ${message} ${JSON.stringify(fields)}\n`);
      },
    });
    try {
      const loras = await loraPatches(request.prompt, values, pipeline);
      const networks = { prompt: loras.prompt, networks: loras.patches };
      const result = await pipeline.generate({ ...request, ...networks }, { onProgress: progressReporter(io) });
      for (const warning of [...loras.warnings, ...result.warnings]) io.stderr.write(`warning: ${warning}\n`);
      const tiHashes = embeddingHashes(embeddings)(result.embeddings);
      const extra = {
        ...(tiHashes ? { 'TI hashes': tiHashes } : {}),
        ...(loras.hashes ? { 'Lora hashes': loras.hashes } : {}),
        ...noiseScheduleField(result.request.compat, pipeline.info.schedulerConfig),
        ...img2imgNoiseFields(result.request),
      };
      const named = { name: basename(resolve(source), extname(source)), hash: modelHash(model) };
      const inpaintFields = result.request.inpaint ? inpaintInfotext(result.request.inpaint, pipeline.info.inpainting, result.maskDropped) : {};
      // The hires pass's own settings, compared with the first pass's as the pipeline ran them (LoRA tags out).
      const hiresFields = result.request.hires ? hiresInfotext(result.request.hires, result.request) : {};
      await writeOutputs({ ...result, request: { ...result.request, prompt: request.prompt } }, values, named, { extra: { ...hiresFields, ...extra }, inpaintFields });
      io.stderr.write(`${summary(result, pipeline)}\n`);
    } finally {
      await pipeline.dispose();
    }
  },
};

/** A pasted block's request for this run: without an init image, its img2img noise settings are named, not used. */
function forThisRun(pasted: InfotextRequest | undefined, values: Values): InfotextRequest | undefined {
  if (!pasted) return pasted;
  const { request, ignored } = img2imgNoiseFor(pasted.request, values['init-image'] === undefined ? 'txt2img' : 'img2img');
  return { ...pasted, request, ignored: [...pasted.ignored, ...ignored] };
}

/** `value` of the setting `name` (`ONNX_NATIVE_BRIDGE`, `--cuda-graphs`, …) if it is one of `choices`. */
function choiceSetting<Choice extends string>(name: string, choices: readonly Choice[], value: string): Choice {
  const choice = choices.find((known) => known === value);
  if (choice === undefined) throw new UsageError(`${name} must be one of ${choices.join(', ')}, not ${JSON.stringify(value)}`);
  return choice;
}

/**
 * The LoRAs the prompt's tags and `--lora` call, read from `--lora-dir` and made into patches for the model; the
 * prompt without its tags; A1111's `Lora hashes` value; a warning for each LoRA with layers the model lacks.
 */
async function loraPatches(
  prompt: string,
  values: Values,
  pipeline: StableDiffusionPipeline,
): Promise<{ prompt: string; patches: NetworkPatch[]; hashes: string; warnings: string[] }> {
  const extracted = usage(() => extractLoraTags(prompt));
  const tags = [...extracted.tags, ...(values.lora ?? []).map((flag) => usage(() => extractLoraTags(`<lora:${flag}>`)).tags).flat()];
  if (tags.length === 0) return { prompt: extracted.prompt, patches: [], hashes: '', warnings: [] };
  const dir = values['lora-dir'];
  if (dir === undefined) throw new UsageError(`--lora-dir DIR is needed for ${tags.map((tag) => tag.name).join(', ')}`);
  const weights = pipeline.info.patchableWeights;
  if (!weights) throw new UsageError(`${pipeline.info.dir} cannot take LoRAs: convert the checkpoint with dreamcord (it writes weight tables)`);
  return { prompt: extracted.prompt, ...(await new LoraLibrary(dir).patches(tags, weights)) };
}

/** The embeddings of `--embeddings-dir`; each file that cannot be used is a warning on stderr. */
async function readCliEmbeddings(dir: string | undefined, io: CliIO): Promise<readonly LoadedEmbedding[]> {
  if (dir === undefined) return [];
  const { embeddings, problems } = await readEmbeddingFolder(dir);
  for (const problem of problems) io.stderr.write(`warning: embedding left out: ${problem}\n`);
  return embeddings;
}

function parseGenerateArgs(argv: readonly string[]): Values {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The request of `--infotext FILE` (a parameters block, or a PNG carrying one); a block that does not parse is a usage error. */
async function readInfotextFlag(values: Values): Promise<InfotextRequest | undefined> {
  const file = values.infotext;
  if (file === undefined) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const text = isPng(bytes) ? readPngText(bytes)[PARAMETERS_KEYWORD] : Buffer.from(bytes).toString('utf8');
  if (text === undefined) throw new UsageError(`${file} is a PNG without A1111's parameters chunk`);
  try {
    return requestFromInfotext(text);
  } catch (error) {
    if (error instanceof InfotextError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
}

function isPng(bytes: Uint8Array): boolean {
  return [0x89, 0x50, 0x4e, 0x47].every((byte, i) => bytes[i] === byte);
}

/**
 * The request the flags describe (over `pasted`, a pasted block's request and inpainting settings), checked before
 * the model loads (bad values are usage errors). The mask is brought to the working size here, its luminance
 * resampled with its grey levels (the pipeline binarizes it where diffusers' inpainting runs).
 */
async function buildRequest(values: Values, pasted?: InfotextRequest): Promise<GenerateRequest> {
  const base: GenerationParameters | undefined = pasted?.request;
  if (values.mask !== undefined && values['init-image'] === undefined) {
    throw new UsageError('--mask needs --init-image');
  }
  if (values.strength !== undefined && values['init-image'] === undefined) {
    throw new UsageError('--strength needs --init-image');
  }
  if (values.prompt === undefined && base === undefined) throw new UsageError('--prompt TEXT (or --infotext FILE) is required');
  const initImage = values['init-image'] === undefined ? undefined : await readImage(values['init-image']);
  const request: GenerateRequest = {
    ...base,
    prompt: base && values.prompt === undefined ? base.prompt : required(values.prompt, '--prompt TEXT'),
    ...(values.negative === undefined ? {} : { negativePrompt: values.negative }),
    ...(values.seed === undefined ? {} : { seed: seedArg(values.seed) }),
    ...numbers(values, ['steps', 'cfg', 'width', 'height', 'count', 'strength']),
    ...(values['clip-skip'] === undefined ? {} : { clipSkip: numberArg('clip-skip', values['clip-skip']) }),
    ...(values.sampler === undefined ? {} : { sampler: values.sampler }),
    ...(values.rng === undefined ? {} : { rng: values.rng as GenerateRequest['rng'] }),
    ...(values['seed-mode'] === undefined ? {} : { seedMode: values['seed-mode'] as GenerateRequest['seedMode'] }),
    ...(values['prompt-syntax'] === undefined
      ? {}
      : { promptSyntax: values['prompt-syntax'] as GenerateRequest['promptSyntax'] }),
    ...(values.compat === undefined ? {} : { compat: values.compat as GenerateRequest['compat'] }),
    ...(values['schedule-type'] === undefined ? {} : { scheduleType: values['schedule-type'] }),
    ...(values.emphasis === undefined ? {} : { emphasis: values.emphasis as GenerateRequest['emphasis'] }),
    ...(values.ensd === undefined ? {} : { ensd: numberArg('ensd', values.ensd) }),
    ...(values['variation-seed'] === undefined ? {} : { variationSeed: seedArg(values['variation-seed']) }),
    ...(values['variation-strength'] === undefined
      ? {}
      : { variationStrength: numberArg('variation-strength', values['variation-strength']) }),
    ...(values['noise-multiplier'] === undefined ? {} : { noiseMultiplier: numberArg('noise-multiplier', values['noise-multiplier']) }),
    ...(values['extra-noise'] === undefined ? {} : { extraNoise: numberArg('extra-noise', values['extra-noise']) }),
    ...(initImage ? { initImage } : {}),
  };
  const inpaint = inpaintFlags(values, pasted?.inpaint);
  const resolved = usage(() => resolveRequest(request));
  if (values.mask === undefined) return { ...request, seed: resolved.seed };
  // "Only masked" cuts its area from the picture at the picture's own size; otherwise the mask goes to the working size.
  const mask = maskLuminance(await readImage(values.mask), inpaint?.onlyMasked && initImage ? initImage : resolved);
  const inpainting = { ...request, seed: resolved.seed, mask, ...(inpaint ? { inpaint } : {}) };
  usage(() => resolveRequest(inpainting));
  return inpainting;
}

/** A1111's inpainting settings: the flags over the pasted block's; the flags need `--mask`. */
function inpaintFlags(values: Values, pasted: InpaintOptions | undefined): InpaintOptions | undefined {
  const flags: InpaintOptions = {
    ...(values['mask-blur'] === undefined ? {} : { maskBlur: numberArg('mask-blur', values['mask-blur']) }),
    ...(values['masked-content'] === undefined ? {} : { maskedContent: values['masked-content'] as MaskedContent }),
    ...(values['invert-mask'] ? { invertMask: true } : {}),
    ...(values['mask-weight'] === undefined ? {} : { maskWeight: numberArg('mask-weight', values['mask-weight']) }),
    ...(values['only-masked'] ? { onlyMasked: true } : {}),
    ...(values['masked-padding'] === undefined ? {} : { maskedPadding: numberArg('masked-padding', values['masked-padding']) }),
  };
  if (Object.keys(flags).length > 0 && values.mask === undefined) {
    throw new UsageError('--mask-blur, --masked-content, --invert-mask, --mask-weight, --only-masked and --masked-padding need --mask');
  }
  return pasted || Object.keys(flags).length > 0 ? { ...pasted, ...flags } : undefined;
}

/** Decodes an input image file; a file that is not a usable image fails with `INVALID_IMAGE`. */
async function readImage(file: string): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return (await decodeImage(bytes, { maxPixels: MAX_INPUT_PIXELS })).image;
  } catch (error) {
    if (!(error instanceof ImageInputError)) throw error;
    throw new PipelineError('INVALID_IMAGE', `${file}: ${error.message}`, { file }, { cause: error });
  }
}

/** Progress on stderr: a bar redrawn in place on a terminal, one line per step otherwise. */
function progressReporter(io: CliIO): ProgressCallback {
  const tty = io.stderr.isTTY === true;
  return (step, total, elapsedMs) => {
    const seconds = (elapsedMs / 1000).toFixed(1);
    if (!tty) {
      io.stderr.write(`step ${step}/${total} ${seconds} s\n`);
      return;
    }
    io.stderr.write(`\r${progressBar(step / total)} ${step}/${total} ${seconds} s`);
    if (step === total) io.stderr.write('\n');
  };
}

/** A model as the infotext names it: its file name and A1111's short hash when it came from a checkpoint. */
interface NamedModel {
  readonly name: string;
  readonly hash: string | undefined;
}

/** A1111's `Model hash`, the first 10 hex digits of the checkpoint's sha256, from the conversion's manifest. */
function modelHash(dir: string): string | undefined {
  return readManifest(dir)?.source.sha256.slice(0, 10);
}

/** What a picture's infotext adds to the request's fields: the hires fix's, `TI hashes`/`Lora hashes`, and inpainting's fields. */
interface InfotextExtras {
  readonly extra: Record<string, string>;
  readonly inpaintFields: ReturnType<typeof inpaintInfotext> | Record<string, never>;
}

async function writeOutputs(result: GenerateResult, values: Values, model: NamedModel, extras: InfotextExtras): Promise<void> {
  if (values.raw !== undefined) await writeFile(values.raw, rawFloats(result));
  if (values.out === undefined && values.raw !== undefined) return;
  const out = values.out ?? `dreamcord-${result.request.seed}.png`;
  const stem = out.replace(/\.png$/i, '');
  const many = result.images.length > 1;
  await Promise.all(
    result.images.map(async ({ rgb8, seed, variationSeed }, i) => {
      const png = await encodePng(rgb8, infotext(result.request, { seed, variationSeed }, model, extras));
      await writeFile(many ? `${stem}-${i + 1}.png` : out, png);
    }),
  );
}

/** Every image's float32 values, image × height × width × RGB, little-endian. */
function rawFloats(result: GenerateResult): Uint8Array {
  const total = result.images.reduce((sum, { image }) => sum + image.data.length, 0);
  const bytes = new Uint8Array(total * 4);
  const view = new DataView(bytes.buffer);
  let offset = 0;
  for (const { image } of result.images) {
    for (const value of image.data) {
      view.setFloat32(offset, value, true);
      offset += 4;
    }
  }
  return bytes;
}

/** A1111's `parameters` text for one image, with `extras` (`TI hashes`, `Lora hashes`, inpainting's fields). */
function infotext(
  request: ResolvedRequest,
  { seed, variationSeed }: Pick<GeneratedImage, 'seed' | 'variationSeed'>,
  model: NamedModel,
  { extra, inpaintFields }: InfotextExtras,
): string {
  const fields = extra;
  return formatInfotext({
    prompt: request.prompt,
    negativePrompt: request.negativePrompt,
    steps: request.steps,
    ...a1111Fields(request),
    cfgScale: request.cfg,
    seed,
    width: request.width,
    height: request.height,
    model: model.name,
    ...(model.hash === undefined ? {} : { modelHash: model.hash }),
    ...(variationSeed === undefined ? {} : { variationSeed, variationStrength: request.variationStrength }),
    // A hires fix's strength is its second pass's (A1111 writes both as `Denoising strength`).
    ...(request.hires ? { denoisingStrength: request.hires.strength } : request.kind === 'txt2img' ? {} : { denoisingStrength: request.strength }),
    clipSkip: request.clipSkip,
    rng: request.rng === 'cpu' ? 'CPU' : 'GPU',
    ...inpaintFields,
    ...(Object.keys(fields).length > 0 ? { extra: fields } : {}),
    version: `dreamcord ${packageVersion()}`,
  });
}

/** One line: images, seconds, provider and the per-step split between the UNet and everything else. */
function summary(result: GenerateResult, pipeline: StableDiffusionPipeline): string {
  const { timing, images } = result;
  const steps = Math.max(timing.steps, 1);
  const seeds = images.map((image) => image.seed);
  const first = seeds[0];
  const last = seeds[seeds.length - 1];
  const seedText = first === last ? `seed ${first}` : `seeds ${first}–${last}`;
  const providers = [...new Set(Object.values(pipeline.info.providers))].join('+');
  return (
    `${images.length} image${images.length > 1 ? 's' : ''} (${seedText}) in ${(timing.totalMs / 1000).toFixed(2)} s ` +
    `on ${providers}: ${((timing.stepModelMs + timing.stepOtherMs) / steps).toFixed(1)} ms/step ` +
    `(UNet ${(timing.stepModelMs / steps).toFixed(1)} ms, other ${(timing.stepOtherMs / steps).toFixed(2)} ms)`
  );
}

function numbers(values: Values, names: readonly ('steps' | 'cfg' | 'width' | 'height' | 'count' | 'strength')[]) {
  const out: Partial<Record<(typeof names)[number], number>> = {};
  for (const name of names) {
    const text = values[name];
    if (text !== undefined) out[name] = numberArg(name, text);
  }
  return out;
}

function numberArg(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new UsageError(`--${flag} must be a number, got ${JSON.stringify(text)}`);
  }
  return value;
}

function seedArg(text: string): bigint {
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`--seed must be a whole number 0 … 2^64−1, got ${JSON.stringify(text)}`);
  }
  return BigInt(text);
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

/** Runs `check`, turning an `INVALID_REQUEST` into a usage error (a bad flag value). */
function usage<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (isPipelineError(error, 'INVALID_REQUEST')) throw new UsageError(error.message);
    throw error;
  }
}

/** dreamcord's version from package.json (two folders up from both src/cli and dist/cli). */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
