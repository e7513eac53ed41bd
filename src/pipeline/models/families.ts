/**
 * The model families dreamcord runs, each declared once with the facts that set it apart and the facts the rest
 * of the program needs of it. A new family (SDXL, …) is a new row here plus what its loader needs; nothing else
 * guesses a family from a number. (The checkpoint importer's own table, `src/checkpoint/`, may join this one.)
 */
export const MODEL_FAMILIES = {
  /** Stable Diffusion 1.x: CLIP ViT-L text encoder. */
  sd1: { textWidth: 768, nativeSize: 512, vPredictionNativeSize: 512, sizeBuckets: [] },
  /** Stable Diffusion 2.x: OpenCLIP ViT-H text encoder; the 768-v models were trained at 768 × 768. */
  sd2: { textWidth: 1024, nativeSize: 512, vPredictionNativeSize: 768, sizeBuckets: [] },
  /**
   * Stable Diffusion XL: CLIP ViT-L and OpenCLIP ViT-bigG, their penultimate layers side by side (768 + 1280).
   * Trained at about one megapixel in these aspect buckets (SDXL report, appendix; what SDXL UIs offer).
   */
  sdxl: {
    textWidth: 2048,
    nativeSize: 1024,
    vPredictionNativeSize: 1024,
    sizeBuckets: [
      { width: 1024, height: 1024 },
      { width: 1152, height: 896 },
      { width: 896, height: 1152 },
      { width: 1216, height: 832 },
      { width: 832, height: 1216 },
      { width: 1344, height: 768 },
      { width: 768, height: 1344 },
      { width: 1536, height: 640 },
      { width: 640, height: 1536 },
    ],
  },
} as const satisfies Readonly<Record<string, FamilyFacts>>;

/** What a family row declares. */
export interface FamilyFacts {
  /** Width of the text conditioning vectors: what tells the families apart in an ONNX export. */
  readonly textWidth: number;
  /** Side of the square the family's epsilon models were trained at. */
  readonly nativeSize: number;
  /** The same for its v-prediction models. */
  readonly vPredictionNativeSize: number;
  /**
   * The sizes the family was trained at besides the square, if it has such buckets: an aspect ratio is drawn at
   * the bucket of the nearest ratio (none: the short side at the native size, the long one by the ratio).
   */
  readonly sizeBuckets: readonly { readonly width: number; readonly height: number }[];
}

export type ModelFamily = keyof typeof MODEL_FAMILIES;

/**
 * The family of a model with one text encoder of width `textWidth`, or SDXL's two. Narrower test models (the tiny
 * fixtures) count as SD 1.x, the family whose layout they copy (or as SDXL with two encoders).
 */
export function familyOf(textWidth: number, twoEncoders = false): ModelFamily {
  if (twoEncoders) return 'sdxl';
  const found = (Object.keys(MODEL_FAMILIES) as ModelFamily[]).find((family) => MODEL_FAMILIES[family].textWidth === textWidth);
  return found ?? 'sd1';
}

/**
 * The size to draw aspect ratio `ratio` (width / height) at: the family's bucket of the nearest ratio (compared
 * as logarithms, so 2:1 and 1:2 are as far from 1:1), or the short side at `nativeSize` and the long side by the
 * ratio, rounded to a multiple of 8.
 */
export function sizeForAspect(
  ratio: number,
  nativeSize: number,
  buckets: FamilyFacts['sizeBuckets'],
): { width: number; height: number } {
  const distance = (size: { width: number; height: number }): number => Math.abs(Math.log(size.width / size.height / ratio));
  const [nearest] = [...buckets].sort((a, b) => distance(a) - distance(b));
  if (nearest) return { width: nearest.width, height: nearest.height };
  const long = Math.round((nativeSize * Math.max(ratio, 1 / ratio)) / 8) * 8;
  return ratio >= 1 ? { width: long, height: nativeSize } : { width: nativeSize, height: long };
}

/** The side of the square a model of `family` with `predictionType` was trained at. */
export function nativeSizeOf(family: ModelFamily, predictionType: string): number {
  const facts = MODEL_FAMILIES[family];
  return predictionType === 'v_prediction' ? facts.vPredictionNativeSize : facts.nativeSize;
}
