import { z } from 'zod';
import { MASK_REGIONS, SCHEDULER_IDS, type MaskRegion } from '../pipeline/index.js';

/** The largest seed: torch generators take 64-bit seeds. */
export const MAX_SEED = 2n ** 64n - 1n;

/**
 * A generation request as the bot keeps it: plain JSON, everything needed to run (and rerun) the job.
 * Seeds are decimal strings because they go up to 2^64 − 1; image `i` of a request uses `seed + i`.
 */
export const generationRequestSchema = z.object({
  kind: z.enum(['txt2img', 'img2img', 'inpaint']),
  prompt: z.string(),
  negative: z.string(),
  seed: z.string().regex(/^\d{1,20}$/),
  steps: z.number().int().min(1),
  cfg: z.number().min(0),
  sampler: z.enum(SCHEDULER_IDS),
  width: z.number().int().min(8).multipleOf(8),
  height: z.number().int().min(8).multipleOf(8),
  count: z.number().int().min(1).max(4),
  rng: z.enum(['gpu', 'cpu']),
  promptSyntax: z.enum(['a1111', 'plain']),
  /** img2img / inpaint: how much of the source is repainted (0–1). */
  strength: z.number().min(0).max(1).optional(),
  /** img2img / inpaint: where the source image is kept (see the jobs' input store) and where it came from. */
  source: z
    .object({
      /** Key of the stored input image. */
      inputKey: z.string(),
      /** The earlier job whose result this starts from, when there is one. */
      jobId: z.string().optional(),
      /** Which image of that job (0-based). */
      index: z.number().int().min(0).max(3).optional(),
      /** Original size of the upload (or of the earlier result), to scale the result back to its aspect ratio. */
      width: z.number().int().min(1),
      height: z.number().int().min(1),
    })
    .optional(),
  /** inpaint: the stored mask and how the member gave it. */
  mask: z
    .object({
      inputKey: z.string(),
      source: z.enum(['mask', 'transparency', 'region']),
      region: z.enum(MASK_REGIONS).optional(),
      /** Pixels of feathering at the mask's edge where the result is pasted into the original. */
      blur: z.number().int().min(0).max(64),
    })
    .optional(),
});

export type GenerationRequest = z.infer<typeof generationRequestSchema>;
export type RequestMask = NonNullable<GenerationRequest['mask']>;

/** The `region` choices as members read them. */
export const REGION_LABELS: Readonly<Record<MaskRegion, string>> = {
  left: 'left half',
  right: 'right half',
  top: 'top half',
  bottom: 'bottom half',
  center: 'center',
  border: 'background border',
};

/** The earlier job a variation started from, for the embed and the PNG's parameters: "<id>", "<id> (image 2)". */
export function sourceJobLabel(source: GenerationRequest['source']): string | undefined {
  if (source?.jobId === undefined) return undefined;
  return source.index ? `${source.jobId} (image ${source.index + 1})` : source.jobId;
}

/** How the member gave the area to repaint, for the embed and the PNG's parameters: "mask file", "region: center". */
export function maskSourceLabel(mask: RequestMask): string {
  switch (mask.source) {
    case 'mask':
      return 'mask file';
    case 'transparency':
      return 'transparency';
    case 'region':
      return mask.region ? `region: ${REGION_LABELS[mask.region]}` : 'region';
  }
}

/** The seeds of every image of `request`: `seed, seed+1, …` (A1111's batch convention), wrapping at 2^64. */
export function imageSeeds(request: Pick<GenerationRequest, 'seed' | 'count'>): bigint[] {
  const base = BigInt(request.seed);
  return Array.from({ length: request.count }, (_, i) => (base + BigInt(i)) & MAX_SEED);
}

/** A fresh random seed in A1111's range (0 … 2^32 − 1), so it can be typed into other tools too. */
export function randomSeed(): string {
  return String(Math.floor(Math.random() * 2 ** 32));
}
