import {
  binarizeMask,
  decodeImage,
  isEmptyMask,
  isFullMask,
  maskFromAlpha,
  maskLuminance,
  regionMask,
  toRgb8,
  toWorkingSize,
  type DecodedImage,
  type Mask,
  type MaskRegion,
  type Rgb8Image,
  type RgbImage,
  type Size,
  type WorkingSize,
} from '../pipeline/index.js';
import { fetchImage, fetchPngParameters, type AttachmentLimits, type AttachmentRef } from './attachments.js';
import { outpaintCanvas, type Outpaint } from './outpaint.js';
import { resultKey, type InputStore } from './input-store.js';
import type { Result } from '../refusal.js';
import { REGION_LABELS, type GenerationRequest, type RequestMask } from '../generator/request.js';
import { outputSize, workingSizeOf } from '../generator/working-size.js';

/** A job's source picture (and, to inpaint, its mask), stored, with what the request needs to know of them. */
export interface PreparedInputs {
  readonly source: NonNullable<GenerationRequest['source']>;
  /** The size of the stored source picture, which the request's size is planned from. */
  readonly stored: Size;
  readonly mask?: RequestMask;
  /** The earlier job's prompt: a variation of a job uses it when the member gives none. */
  readonly prompt?: string;
  /** The earlier job's model: its variations, zooms and pans run on it (absent in records from before models). */
  readonly model?: string | undefined;
  /** What the member should know about how the inputs were made (a canvas scaled down). */
  readonly notices?: readonly string[];
}

/** What `/inpaint` is given: the picture and at most one of `mask` and `region` (else its transparency). */
export interface InpaintSpec {
  readonly image: AttachmentRef;
  readonly mask?: AttachmentRef | undefined;
  readonly region?: MaskRegion | undefined;
  /** Feathering of the mask's edge in pixels, 0–64; the configured default when absent. */
  readonly blur?: number | undefined;
  /**
   * A pasted block's `Inpaint area: Only masked` (`invert`: its `Mask mode: Inpaint not masked`): a mask file that
   * then marks nothing is A1111's img2img of the whole picture, not refused.
   */
  readonly onlyMasked?: { readonly invert: boolean } | undefined;
}

export interface ImageInputsOptions {
  readonly store: InputStore;
  readonly attachments: AttachmentLimits;
  /** Feathering of a mask's edge when the member gives none, pixels (`generation.maskBlur`). */
  readonly maskBlur: number;
  /** The model's native size: larger uploads are scaled down towards it before they are stored. */
  readonly nativeSize: number;
}

type Prepared = Promise<Result<{ inputs: PreparedInputs }>>;

/**
 * A check of the member's own picture, at the working size, before it is stored or anything runs (the content
 * policy's, issue 20): a refusal stops the request.
 */
export type UploadCheck = (image: Rgb8Image) => Promise<Result<Record<never, never>>>;

/** Stored results were checked on the way in; this only bounds what a damaged store could make the bot decode. */
const STORED_PIXEL_LIMIT = 4096 * 4096;

/** The largest `mask_blur`: beyond it the feathering would swallow small masks whole. */
const MAX_MASK_BLUR = 64;

/** What a variation of an earlier job needs to know of it (the jobs' record has these fields). */
export interface EarlierJob {
  readonly id: string;
  readonly status: string;
  readonly request: GenerationRequest;
  readonly result?: { readonly seeds: readonly string[] } | undefined;
}

/**
 * Turns what a member gave (an uploaded picture, a mask, a region, an earlier job) into a job's stored inputs.
 * Uploads are downloaded from the address Discord gave, checked, scaled down to the size the model works at, and
 * stored; their mask is brought to the same size and refused when it would repaint nothing or everything.
 */
export class ImageInputs {
  readonly #options: ImageInputsOptions;

  constructor(options: ImageInputsOptions) {
    this.#options = options;
  }

  /** `/imagine remake:`: the AUTOMATIC1111 parameters an uploaded PNG carries (its picture is not used). */
  parametersOf(attachment: AttachmentRef): Promise<Result<{ parameters: string }>> {
    return fetchPngParameters(attachment, this.#options.attachments);
  }

  /** `/variation image:`: the uploaded picture, if it passes `check`. */
  async fromUpload(attachment: AttachmentRef, check: UploadCheck): Prepared {
    const fetched = await this.#fetch(attachment);
    if (!fetched.ok) return fetched;
    const picture = toRgb8(fetched.image);
    const checked = await check(picture);
    if (!checked.ok) return checked;
    const inputKey = await this.#options.store.put(picture);
    return { ok: true, inputs: { source: { inputKey, ...fetched.original }, stored: sizeOf(fetched.plan) } };
  }

  /**
   * `/variation job:` and 🔀: image `index` (0-based) of `record`'s result, as it was delivered. The caller checks
   * that the member may see the job.
   */
  async fromJob(record: EarlierJob, index: number): Prepared {
    const found = await this.#resultOf(record, index);
    if (!found.ok) return found;
    const size = outputSize(record.request);
    const source = { inputKey: found.inputKey, jobId: record.id, index, ...size };
    return { ok: true, inputs: { source, stored: size, prompt: record.request.prompt, model: record.request.model } };
  }

  /**
   * Zoom out and pan: image `index` (0-based) of `record`'s result on the canvas of `outpaint`, within `maxPixels`,
   * with the canvas's new area as the mask (see `outpaintCanvas`). The caller checks that the member may see the job.
   */
  async forOutpaint(record: EarlierJob, index: number, outpaint: Outpaint, maxPixels: number): Prepared {
    const found = await this.#resultOf(record, index);
    if (!found.ok) return found;
    const picture = toRgb8((await decodeImage(found.png, { maxPixels: STORED_PIXEL_LIMIT })).image);
    const { canvas, mask, scaledTo } = await outpaintCanvas(picture, outpaint, maxPixels);
    const { store } = this.#options;
    const size = { width: canvas.width, height: canvas.height };
    const source = { inputKey: await store.put(canvas), jobId: record.id, index, ...size };
    const requestMask: RequestMask = {
      inputKey: await store.put(maskToRgb8(mask)),
      source: outpaint.kind,
      outpaint: outpaint.kind === 'pan' ? outpaint.direction : `${outpaint.factor}×`,
      blur: this.#options.maskBlur,
    };
    const notices = scaledTo
      ? [`The zoomed-out canvas would be over this server's limit of ${maxPixels} pixels, so the picture was scaled down to ${scaledTo.width}×${scaledTo.height} on a ${canvas.width}×${canvas.height} canvas.`]
      : [];
    return { ok: true, inputs: { source, stored: size, mask: requestMask, prompt: record.request.prompt, model: record.request.model, notices } };
  }

  /** The stored PNG of image `index` (0-based) of `record`'s result (without its parameters), or why there is none. */
  async storedResult(record: EarlierJob, index: number): Promise<Result<{ png: Uint8Array }>> {
    return this.#resultOf(record, index);
  }

  /** The key and PNG of image `index` of `record`'s result, or why it cannot be used. */
  async #resultOf(record: EarlierJob, index: number): Promise<Result<{ inputKey: string; png: Uint8Array }>> {
    const count = record.result?.seeds.length ?? 0;
    if (record.status !== 'completed' || count === 0) {
      return { ok: false, code: 'NOT_FOUND', message: `Job \`${record.id}\` has no finished picture to start from (it ${statusText(record)}).` };
    }
    if (index >= count) {
      const which = count === 1 ? '1' : `1 to ${count}`;
      return { ok: false, code: 'INVALID_OPTION', message: `Job \`${record.id}\` made ${count} picture${count === 1 ? '' : 's'}: \`which\` must be ${which}.` };
    }
    const inputKey = resultKey(record.id, index);
    const png = await this.#options.store.get(inputKey);
    if (png === undefined) return { ok: false, code: 'NOT_FOUND', message: `I no longer have the pictures of job \`${record.id}\`.` };
    return { ok: true, inputKey, png };
  }

  /** `/inpaint`: the picture (if it passes `check`) and the area to repaint. */
  async forInpaint(spec: InpaintSpec, check: UploadCheck): Prepared {
    if (spec.mask && spec.region) {
      return { ok: false, code: 'INVALID_OPTION', message: 'Give either a `mask` or a `region`, not both.' };
    }
    const blur = spec.blur ?? this.#options.maskBlur;
    if (!Number.isInteger(blur) || blur < 0 || blur > MAX_MASK_BLUR) {
      return { ok: false, code: 'INVALID_OPTION', message: `\`mask_blur\` must be a whole number from 0 to ${MAX_MASK_BLUR}, got ${blur}.` };
    }
    const fetched = await this.#fetch(spec.image);
    if (!fetched.ok) return fetched;
    const area = await this.#maskOf(spec, fetched.decoded, fetched.plan);
    if (!area.ok) return area;
    const picture = toRgb8(fetched.image);
    const checked = await check(picture);
    if (!checked.ok) return checked;
    const { store } = this.#options;
    const inputKey = await store.put(picture);
    const mask: RequestMask = { ...area.mask, inputKey: await store.put(maskToRgb8(area.pixels)), blur };
    return { ok: true, inputs: { source: { inputKey, ...fetched.original }, stored: sizeOf(fetched.plan), mask } };
  }

  /** Downloads and decodes an upload and brings it to the working size. */
  async #fetch(attachment: AttachmentRef): Promise<Result<{ decoded: DecodedImage; original: Size; plan: WorkingSize; image: RgbImage }>> {
    const fetched = await fetchImage(attachment, this.#options.attachments);
    if (!fetched.ok) return fetched;
    const decoded = fetched.image;
    const original = { width: decoded.image.width, height: decoded.image.height };
    // The server's pixel limit is applied when the request is built; here only the model's own size counts.
    const planned = workingSizeOf(original, { nativeSize: this.#options.nativeSize, maxPixels: Infinity });
    if (!planned.ok) return { ...planned, message: `\`${attachment.option}\`: ${planned.message}` };
    return { ok: true, decoded, original, plan: planned.plan, image: await toWorkingSize(decoded.image, planned.plan) };
  }

  /** The area to repaint at the working size, from the mask file, the region, or the picture's transparency. */
  async #maskOf(
    spec: InpaintSpec,
    decoded: DecodedImage,
    plan: WorkingSize,
  ): Promise<Result<{ pixels: Mask; mask: Pick<RequestMask, 'source' | 'region'> }>> {
    if (spec.region) {
      const pixels = regionMask(spec.region, plan.width, plan.height);
      return checked(pixels, { source: 'region', region: spec.region }, `The region "${REGION_LABELS[spec.region]}"`);
    }
    if (spec.mask) {
      const fetched = await fetchImage(spec.mask, this.#options.attachments);
      if (!fetched.ok) return fetched;
      // A mask of another size is stretched over the picture first, then brought to the working size with it. Its
      // grey levels are kept for A1111's inpainting (the pipeline binarizes it for diffusers').
      const full = maskLuminance(fetched.image.image, decoded.image);
      const pixels = await toWorkingSize(full, plan);
      // "Only masked" with a mask that marks nothing (once inverted, if asked): A1111 reworks the whole picture.
      const blank = spec.onlyMasked && (spec.onlyMasked.invert ? isFullMask(pixels) : isEmptyMask(pixels));
      return blank ? { ok: true, pixels, mask: { source: 'mask' } } : checked(pixels, { source: 'mask' }, '`mask`');
    }
    const transparent = decoded.alpha && maskFromAlpha(decoded.alpha);
    if (!transparent || isEmptyMask(transparent)) {
      const message =
        'Tell me what to repaint: attach a `mask` (white = repaint), pick a `region`, or upload a PNG whose ' +
        'transparent pixels mark the area.';
      return { ok: false, code: 'INVALID_OPTION', message };
    }
    return checked(binarizeMask(await toWorkingSize(transparent, plan)), { source: 'transparency' }, 'The transparent area');
  }
}

/** `pixels` as the mask of a job, unless it would repaint nothing or everything (explained instead of run). */
function checked(
  pixels: Mask,
  mask: Pick<RequestMask, 'source' | 'region'>,
  what: string,
): Result<{ pixels: Mask; mask: Pick<RequestMask, 'source' | 'region'> }> {
  if (isEmptyMask(pixels)) {
    const message = `${what} covers none of the picture (white marks what to repaint), so there is nothing to repaint.`;
    return { ok: false, code: 'INVALID_OPTION', message };
  }
  if (isFullMask(pixels)) {
    const message =
      `${what} covers the whole picture, so nothing of it would be kept. Mark only the part to repaint, ` +
      'or use `/variation` to rework the whole picture.';
    return { ok: false, code: 'INVALID_OPTION', message };
  }
  return { ok: true, pixels, mask };
}

/** A mask as a grey RGB picture (white = repaint), to store as PNG; `maskLuminance` reads it back. */
function maskToRgb8(mask: Mask): Rgb8Image {
  const data = new Float32Array(mask.data.length * 3);
  mask.data.forEach((value, p) => data.fill(value, p * 3, p * 3 + 3));
  return toRgb8({ width: mask.width, height: mask.height, channels: 3, data });
}

function sizeOf(plan: WorkingSize): Size {
  return { width: plan.width, height: plan.height };
}

function statusText(record: EarlierJob): string {
  if (record.status === 'blocked') return "was withheld by the server's content policy";
  return record.status === 'queued' || record.status === 'running' ? `is still ${record.status}` : `was ${record.status}`;
}
