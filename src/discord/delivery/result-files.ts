import { composeGrid, fitUnderSize } from '../../pipeline/index.js';
import type { GeneratedImages } from '../../generator/generator.js';

/** One file of a result message. */
export interface ResultFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The picture was scaled down to fit the upload limit (the member is told). */
  readonly scaledDown: boolean;
}

/**
 * The PNG files of a result, each under `maxBytes` (the interaction's upload limit): one file per image, and a
 * grid first when there are several, so Discord shows them together. Every file keeps its `parameters` chunk.
 */
export async function resultFiles(jobId: string, result: GeneratedImages, maxBytes: number): Promise<ResultFile[]> {
  const short = jobId.slice(0, 8);
  const files: ResultFile[] = [];
  if (result.images.length > 1) {
    const grid = composeGrid(result.images.map(({ image }) => image));
    const fitted = await fitUnderSize(grid, maxBytes, result.images[0]?.parameters);
    files.push({ name: `dreamcord-${short}-grid.png`, bytes: fitted.bytes, scaledDown: fitted.scaledDown });
  }
  for (const { image, seed, parameters } of result.images) {
    const fitted = await fitUnderSize(image, maxBytes, parameters);
    files.push({ name: `dreamcord-${short}-${seed}.png`, bytes: fitted.bytes, scaledDown: fitted.scaledDown });
  }
  return files;
}
