// Paste to remake: an A1111 parameters block (what A1111 writes under a picture and into its PNG, what Civitai
// shows) read back into a request in A1111 mode, with every field dreamcord does not honour named.
import { InfotextError, parseInfotext, type ParsedInfotext } from '../image/index.js';
import { img2imgNoiseActs, REQUEST_LIMITS, type GenerationKind, type GenerationParameters, type InpaintOptions } from '../request.js';
import { parseSamplerName, samplerLabel, type SchedulerId } from '../schedulers/index.js';
import { EMPHASIS_MODES, type Emphasis } from '../tokenizer/index.js';
import { EXTRA_NOISE, NOISE_MULTIPLIER, NOISE_SCHEDULE } from './infotext-fields.js';
import { a1111SamplerFor, namedSchedule } from './samplers.js';
import { hiresFromInfotext } from './hires-infotext.js';
import { inpaintFromInfotext } from './inpaint-infotext.js';
import { BETA_SCHEDULE_SHAPE, parseScheduleType, type ScheduleType } from './schedule-types.js';

/** A pasted block as a request, and the `Key: value` fields it holds that the request does not honour. */
export interface InfotextRequest {
  /**
   * In A1111 mode; `Denoising strength` goes to the hires fix's strength with `Hires upscale`, else to `strength`
   * (used when the caller gives an init image).
   */
  readonly request: GenerationParameters & { readonly compat: 'a1111' };
  /** The block's inpainting settings (`Mask blur`, `Mask mode`, `Masked content`…), for a caller that gives a mask. */
  readonly inpaint: InpaintOptions | undefined;
  /** `Key: value` of each field left out, with the reason when it is not obvious, e.g. "Hires upscale: 2". */
  readonly ignored: readonly string[];
}

/** Fields that say what the prompt called (its tags and embedding names do the work). */
const INFORMATIONAL = new Set(['Lora hashes', 'TI hashes']);

/**
 * Reads a pasted A1111 parameters block into a request (A1111's `parse_generation_parameters` and
 * `get_sampler_and_scheduler`): a sampler name with a schedule suffix ("DPM++ 2M Karras") or a `Schedule type`;
 * a sampler dreamcord lacks falls back to A1111's own default, DPM++ 2M, and is named in `ignored`.
 * @throws {InfotextError} one sentence naming the line that does not parse.
 */
export function requestFromInfotext(text: string): InfotextRequest {
  const parsed = parseBlock(text);
  const ignored: string[] = [];
  const extra = { ...parsed.extra };
  const hires = hiresFromInfotext(extra, parsed.denoisingStrength, ignored);
  const inpaint = inpaintFromInfotext(parsed, ignored);
  const sampler = samplerOf(parsed, ignored);
  const emphasis = emphasisOf(parsed.emphasis, ignored);
  const rng = parsed.rng === 'CPU' ? 'cpu' : 'gpu';
  const noise = img2imgNoiseFromInfotext(extra, ignored);
  const noiseSchedule = extra[NOISE_SCHEDULE];
  if (noiseSchedule !== undefined) {
    delete extra[NOISE_SCHEDULE];
    ignored.push(`${NOISE_SCHEDULE}: ${noiseSchedule} (the model's own: only a model marked zero terminal SNR, by its file's ztsnr key or its MODELS_DIR sidecar, draws with it)`);
  }
  for (const [key, value] of Object.entries(extra)) if (!INFORMATIONAL.has(key)) ignored.push(`${key}: ${value}`);
  ignored.push(...betaShapeIgnored(parsed.betaSchedule));
  return {
    request: {
      compat: 'a1111',
      prompt: parsed.prompt,
      negativePrompt: parsed.negativePrompt ?? '',
      steps: parsed.steps,
      cfg: parsed.cfgScale,
      seed: parsed.seed,
      width: parsed.width,
      height: parsed.height,
      sampler: sampler.id,
      scheduleType: sampler.scheduleType,
      rng,
      ...(parsed.clipSkip === undefined ? {} : { clipSkip: parsed.clipSkip }),
      ...(parsed.ensd === undefined ? {} : { ensd: parsed.ensd }),
      ...(emphasis === undefined ? {} : { emphasis }),
      ...(hires ? { hires } : {}),
      ...(parsed.denoisingStrength === undefined || hires ? {} : { strength: parsed.denoisingStrength }),
      ...(parsed.variationStrength ? { variationStrength: parsed.variationStrength, variationSeed: parsed.variationSeed } : {}),
      ...noise,
    },
    inpaint,
    ignored,
  };
}

/**
 * A1111's `Noise multiplier` and `Extra noise` (its settings `initial_noise_multiplier` and `img2img_extra_noise`,
 * which its paste sets), taken out of `extra`; a value that is not a number in the setting's range is named.
 */
function img2imgNoiseFromInfotext(extra: Record<string, string>, ignored: string[]): Pick<GenerationParameters, 'noiseMultiplier' | 'extraNoise'> {
  const read = (key: string, { min, max }: { min: number; max: number }): number | undefined => {
    const text = extra[key];
    if (text === undefined) return undefined;
    delete extra[key];
    const value = Number(text);
    if (text.trim() !== '' && Number.isFinite(value) && value >= min && value <= max) return value;
    ignored.push(`${key}: ${text} (A1111's setting takes a number ${min}–${max})`);
    return undefined;
  };
  const noiseMultiplier = read(NOISE_MULTIPLIER, REQUEST_LIMITS.noiseMultiplier);
  const extraNoise = read(EXTRA_NOISE, REQUEST_LIMITS.extraNoise);
  return { ...(noiseMultiplier === undefined ? {} : { noiseMultiplier }), ...(extraNoise === undefined ? {} : { extraNoise }) };
}

/**
 * A block's request for a remake of `kind`: A1111's img2img noise settings kept where they act
 * ({@link img2imgNoiseActs}), left out and named where they would do nothing — the noise multiplier without an init
 * image, the extra noise without one or a hires fix.
 */
export function img2imgNoiseFor<R extends Pick<GenerationParameters, 'noiseMultiplier' | 'extraNoise' | 'hires'>>(
  request: R,
  kind: GenerationKind,
): { request: Omit<R, 'noiseMultiplier' | 'extraNoise'> & Partial<Pick<R, 'noiseMultiplier' | 'extraNoise'>>; ignored: string[] } {
  const { noiseMultiplier, extraNoise, ...rest } = request;
  const acts = img2imgNoiseActs(kind, request.hires !== undefined);
  const ignored: string[] = [];
  if (noiseMultiplier !== undefined && !acts.noiseMultiplier) ignored.push(`${NOISE_MULTIPLIER}: ${noiseMultiplier} (img2img's: no init image)`);
  if (extraNoise !== undefined && !acts.extraNoise) ignored.push(`${EXTRA_NOISE}: ${extraNoise} (img2img's and the hires fix's: neither here)`);
  return {
    request: {
      ...rest,
      ...(noiseMultiplier !== undefined && acts.noiseMultiplier ? { noiseMultiplier } : {}),
      ...(extraNoise !== undefined && acts.extraNoise ? { extraNoise } : {}),
    },
    ignored,
  };
}

/** `parseInfotext` whose error names the line: the parameters line is the last. */
function parseBlock(text: string): ParsedInfotext {
  const lines = text.trim().split('\n');
  try {
    return parseInfotext(text);
  } catch (error) {
    if (!(error instanceof InfotextError)) throw error;
    const last = lines.at(-1) ?? '';
    const excerpt = last.length > 60 ? `${last.slice(0, 57)}…` : last;
    throw new InfotextError(`Line ${lines.length} (${JSON.stringify(excerpt)}): ${error.message}.`, { cause: error });
  }
}

/** The sampler id and schedule type of the block's `Sampler` and `Schedule type`, as A1111 resolves them. */
function samplerOf(parsed: ParsedInfotext, ignored: string[]): { id: SchedulerId; scheduleType: ScheduleType } {
  let scheduleType = scheduleTypeOf(parsed.scheduleType, ignored);
  let id: SchedulerId;
  try {
    id = parseSamplerName(parsed.sampler);
  } catch {
    ignored.push(`Sampler: ${parsed.sampler} (not in dreamcord; DPM++ 2M used, as A1111 does for a name it lacks)`);
    id = 'dpmpp_2m';
  }
  // "DPM++ 2M Karras" names its schedule: the A1111 sampler is DPM++ 2M, the schedule Karras.
  const named = namedSchedule(id);
  if (named) ({ id, scheduleType } = named);
  if (!a1111SamplerFor(id) && scheduleType !== 'Automatic') {
    ignored.push(`Schedule type: ${scheduleType} (${samplerLabel(id).name} runs as diffusers' scheduler)`);
    scheduleType = 'Automatic';
  }
  return { id, scheduleType };
}

function scheduleTypeOf(value: string | undefined, ignored: string[]): ScheduleType {
  if (value === undefined) return 'Automatic';
  try {
    return parseScheduleType(value);
  } catch {
    ignored.push(`Schedule type: ${value} (not in dreamcord; Automatic used)`);
    return 'Automatic';
  }
}

/** A Beta schedule shape other than A1111's default, which dreamcord always uses. */
function betaShapeIgnored(shape: ParsedInfotext['betaSchedule']): string[] {
  if (!shape) return [];
  const { alpha, beta } = BETA_SCHEDULE_SHAPE;
  const reason = `(dreamcord's Beta schedule has A1111's default shape ${alpha}, ${beta})`;
  return [
    ...(shape.alpha === alpha ? [] : [`Beta schedule alpha: ${shape.alpha} ${reason}`]),
    ...(shape.beta === beta ? [] : [`Beta schedule beta: ${shape.beta} ${reason}`]),
  ];
}

function emphasisOf(value: string | undefined, ignored: string[]): Emphasis | undefined {
  if (value === undefined) return undefined;
  if ((EMPHASIS_MODES as readonly string[]).includes(value)) return value as Emphasis;
  ignored.push(`Emphasis: ${value} (dreamcord has ${EMPHASIS_MODES.join(', ')})`);
  return undefined;
}
