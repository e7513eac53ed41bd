/**
 * The model families dreamcord runs, each declared once with the facts that set it apart and the facts the rest
 * of the program needs of it. A new family (SDXL, …) is a new row here plus what its loader needs; nothing else
 * guesses a family from a number. (The checkpoint importer's own table, `src/checkpoint/`, may join this one.)
 */
export const MODEL_FAMILIES = {
  /** Stable Diffusion 1.x: CLIP ViT-L text encoder. */
  sd1: { textWidth: 768, nativeSize: 512, vPredictionNativeSize: 512 },
  /** Stable Diffusion 2.x: OpenCLIP ViT-H text encoder; the 768-v models were trained at 768 × 768. */
  sd2: { textWidth: 1024, nativeSize: 512, vPredictionNativeSize: 768 },
  /** Stable Diffusion XL: CLIP ViT-L and OpenCLIP ViT-bigG, their penultimate layers side by side (768 + 1280). */
  sdxl: { textWidth: 2048, nativeSize: 1024, vPredictionNativeSize: 1024 },
} as const satisfies Readonly<Record<string, FamilyFacts>>;

/** What a family row declares. */
export interface FamilyFacts {
  /** Width of the text conditioning vectors: what tells the families apart in an ONNX export. */
  readonly textWidth: number;
  /** Side of the square the family's epsilon models were trained at. */
  readonly nativeSize: number;
  /** The same for its v-prediction models. */
  readonly vPredictionNativeSize: number;
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

/** The side of the square a model of `family` with `predictionType` was trained at. */
export function nativeSizeOf(family: ModelFamily, predictionType: string): number {
  const facts = MODEL_FAMILIES[family];
  return predictionType === 'v_prediction' ? facts.vPredictionNativeSize : facts.nativeSize;
}
