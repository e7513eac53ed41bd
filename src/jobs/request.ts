import { z } from 'zod';
import { SCHEDULER_IDS } from '../pipeline/schedulers/types.js';

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
      /** Original size of the upload, to scale the result back to its aspect ratio. */
      width: z.number().int().min(1),
      height: z.number().int().min(1),
    })
    .optional(),
  /** inpaint: the stored mask and how the member gave it. */
  mask: z
    .object({
      inputKey: z.string(),
      source: z.enum(['mask', 'transparency', 'region']),
      region: z.string().optional(),
      blur: z.number().int().min(0).max(64),
    })
    .optional(),
});

export type GenerationRequest = z.infer<typeof generationRequestSchema>;

/** The seeds of every image of `request`: `seed, seed+1, …` (A1111's batch convention), wrapping at 2^64. */
export function imageSeeds(request: Pick<GenerationRequest, 'seed' | 'count'>): bigint[] {
  const base = BigInt(request.seed);
  return Array.from({ length: request.count }, (_, i) => (base + BigInt(i)) & MAX_SEED);
}

/** A fresh random seed in A1111's range (0 … 2^32 − 1), so it can be typed into other tools too. */
export function randomSeed(): string {
  return String(Math.floor(Math.random() * 2 ** 32));
}
