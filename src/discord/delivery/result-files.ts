import { composeGrid, fitUnderSize, type FittedFormat } from '../../pipeline/index.js';
import type { GeneratedImages } from '../../generator/generator.js';

/** One file of a result message. */
export interface ResultFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** PNG with the parameters, or (over the upload limit) lossless WebP or JPEG without them. */
  readonly format: FittedFormat;
  /** The picture was scaled down to fit the upload limit (the member is told). */
  readonly scaledDown: boolean;
}

const EXTENSIONS: Readonly<Record<FittedFormat, string>> = { png: 'png', webp: 'webp', jpeg: 'jpg' };

/**
 * The files of a result, each under `maxBytes` (the interaction's upload limit): one file per image, and a grid
 * first when there are several, so Discord shows them together. A file fits as a PNG with its `parameters` chunk
 * when it can, else as lossless WebP, else as JPEG (see `fitUnderSize`); the stored PNG stays whole either way.
 */
export async function resultFiles(jobId: string, result: GeneratedImages, maxBytes: number): Promise<ResultFile[]> {
  const short = jobId.slice(0, 8);
  const pictures = result.images.map(({ image, seed, parameters }) => ({ image, parameters, name: seed }));
  if (result.images.length > 1) {
    pictures.unshift({ image: composeGrid(result.images.map(({ image }) => image)), parameters: result.images[0]?.parameters ?? '', name: 'grid' });
  }
  const files: ResultFile[] = [];
  for (const { image, parameters, name } of pictures) {
    const { bytes, format, scaledDown } = await fitUnderSize(image, maxBytes, parameters);
    files.push({ name: `dreamcord-${short}-${name}.${EXTENSIONS[format]}`, bytes, format, scaledDown });
  }
  return files;
}
