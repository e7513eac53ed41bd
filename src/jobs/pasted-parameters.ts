// `/imagine parameters:` and `/inpaint parameters:`: an AUTOMATIC1111 parameters block a member pastes (from A1111,
// Forge or Civitai) becomes the options of a remake in A1111 mode; the member's own options win over the block's,
// and every field dreamcord does not honour is named.
import {
  InfotextError,
  requestFromInfotext,
  img2imgNoiseFor,
  type HiresOptions,
  type InfotextRequest,
  type InpaintOptions,
  type ScheduleType,
} from '../pipeline/index.js';
import { Refused } from '../refusal.js';
import { escapeUnprintable } from '../shown-value.js';
import type { GenerationOptions, ValidatedRequest } from './build-request.js';

/** Discord's longest string option. */
export const MAX_PARAMETERS_CHARS = 6000;

/** What a pasted block adds to a request. */
export interface PastedParameters {
  /** The member's options over the block's. */
  readonly options: GenerationOptions;
  /** The request fields the options do not carry: A1111 mode and its settings from the block. */
  readonly fields: Pick<ValidatedRequest, 'compat' | 'rng'> &
    Partial<Pick<ValidatedRequest, 'scheduleType' | 'emphasis' | 'ensd' | 'variationSeed' | 'variationStrength' | 'inpaint' | 'noiseMultiplier' | 'extraNoise'>>;
  /** The block's hires fix (`Hires upscale`…, its `Denoising strength`), made when the member asks no `upscale`. */
  readonly hires: HiresOptions | undefined;
  /** One sentence naming the fields not honoured, when there are any. */
  readonly notices: readonly string[];
}

/**
 * The options of `options.parameters` (a pasted block) under the member's own, or undefined when none was pasted.
 * To inpaint (`/inpaint`, whose size is its picture's), the block's `Denoising strength` and inpainting settings
 * count and its hires fix is named; otherwise (`/imagine`) the other way round.
 * @throws Refused `INVALID_OPTION` for a block that does not parse, in one sentence naming its line.
 */
export function pastedParameters(pasted: unknown, options: GenerationOptions, kind: 'txt2img' | 'inpaint' = 'txt2img'): PastedParameters | undefined {
  const read = readBlock(pasted);
  if (!read) return undefined;
  const inpainting = kind === 'inpaint';
  // /imagine draws without an init image: the block's img2img noise settings are named (a hires fix's extra noise stays).
  const drawn = img2imgNoiseFor(read.request, kind);
  const { request } = drawn;
  const unused = [...read.ignored, ...drawn.ignored];
  if (inpainting) unused.push(...notInpainted(read, options));
  else {
    if (request.strength !== undefined) unused.push(`Denoising strength: ${request.strength}`);
    if (read.inpaint) unused.push("the inpainting fields (Mask blur, Mask mode, Masked content, Conditional mask weight: /imagine does not inpaint)");
  }
  // `Mask blur` reaches the request with the mask (see `pastedMaskSettings`); the other settings go here.
  const { maskedContent, invertMask, maskWeight, onlyMasked, maskedPadding } = (inpainting && read.inpaint) || {};
  const inpaint = definedOnly({ maskedContent, invertMask, maskWeight, onlyMasked, maskedPadding });
  return {
    options: {
      prompt: request.prompt,
      negative: request.negativePrompt,
      seed: String(request.seed),
      steps: request.steps,
      cfg: request.cfg,
      sampler: request.sampler,
      width: request.width,
      height: request.height,
      clipSkip: request.clipSkip,
      ...(inpainting && request.strength !== undefined ? { strength: request.strength } : {}),
      ...definedOnly(options),
    },
    fields: {
      compat: 'a1111',
      rng: request.rng ?? 'gpu',
      ...(request.scheduleType === undefined || request.scheduleType === 'Automatic' ? {} : { scheduleType: request.scheduleType as ScheduleType }),
      ...(request.emphasis === undefined ? {} : { emphasis: request.emphasis }),
      ...(request.ensd === undefined ? {} : { ensd: request.ensd }),
      // A1111 writes picture i's variation seed under it: the block's is the first picture's.
      ...(request.variationStrength ? { variationSeed: String(request.variationSeed ?? 0n), variationStrength: request.variationStrength } : {}),
      ...(Object.keys(inpaint).length > 0 ? { inpaint } : {}),
      ...definedOnly({ noiseMultiplier: request.noiseMultiplier, extraNoise: request.extraNoise }),
    },
    hires: request.hires,
    notices: unused.length === 0 ? [] : [`Not honoured from the pasted parameters: ${escapeUnprintable(unused.join('; '))}.`],
  };
}

/**
 * The pasted block's inpainting settings, for `/inpaint` to read its mask by: `Mask blur` when the member gives no
 * `mask_blur`, and `Inpaint area: Only masked` with `Mask mode`, under which a mask that marks nothing is not refused
 * (A1111 then reworks the whole picture). Undefined without a block or such fields (a block that does not parse is
 * refused when the request is built).
 */
export function pastedMaskSettings(pasted: unknown): InpaintOptions | undefined {
  try {
    return readBlock(pasted)?.inpaint;
  } catch (error) {
    if (error instanceof Refused) return undefined;
    throw error;
  }
}

/** The pasted block read, or undefined when none was pasted. */
function readBlock(pasted: unknown): InfotextRequest | undefined {
  if (pasted === undefined || pasted === null || pasted === '') return undefined;
  if (typeof pasted !== 'string') throw new Refused('INVALID_OPTION', '`parameters` must be text.');
  if (pasted.length > MAX_PARAMETERS_CHARS) {
    throw new Refused('INVALID_OPTION', `\`parameters\` is ${pasted.length} characters long; the limit is ${MAX_PARAMETERS_CHARS}.`);
  }
  try {
    return requestFromInfotext(asLines(pasted));
  } catch (error) {
    if (!(error instanceof InfotextError)) throw error;
    // The message quotes the member's line: what they pasted is shown, never acted out (a line separator, a NUL).
    throw new Refused('INVALID_OPTION', `The pasted parameters do not read as AUTOMATIC1111's: ${escapeUnprintable(error.message)}`);
  }
}

/** What an inpainting does not take from the block: its hires fix, and a `Size` other than the picture's working size. */
function notInpainted({ request }: InfotextRequest, options: GenerationOptions): string[] {
  const unused: string[] = [];
  if (request.hires) unused.push(`Hires upscale: ${request.hires.scale} (/inpaint does not upscale)`);
  // Beside `Hires upscale`, A1111's `Denoising strength` is the hires pass's.
  if (request.hires?.strength !== undefined) unused.push(`Denoising strength: ${request.hires.strength} (the hires fix's)`);
  const { width, height } = request;
  if (width !== undefined && height !== undefined && (width !== options.width || height !== options.height)) {
    unused.push(`Size: ${width}x${height} (/inpaint works at the picture's size)`);
  }
  return unused;
}

/**
 * The block with its line breaks. Discord's slash-command box takes one line, so a pasted block arrives with its
 * breaks turned into spaces: they go back before `Negative prompt:` and before the parameters, which A1111 always
 * starts with `Steps: N,`.
 */
export function asLines(text: string): string {
  const normalized = text.replace(/\r\n?/g, '\n');
  if (normalized.includes('\n')) return normalized;
  const parameters = [...normalized.matchAll(/\s*\bSteps: \d+,/g)].at(-1);
  if (parameters?.index === undefined) return normalized;
  const head = normalized.slice(0, parameters.index).replace(/\s*\bNegative prompt:/, '\nNegative prompt:');
  return `${head}\n${normalized.slice(parameters.index).trimStart()}`;
}

/** The options the member gave (Discord leaves the others out or null), or the fields a block has. */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined && value !== null)) as Partial<T>;
}
