import { encodePng } from './png.js';
import type { Rgb8Image } from './types.js';

/** A1111's default grid background (`grid_background_color`, white). */
const BACKGROUND = 255;

/**
 * Rows × columns for `count` images in A1111's default layout (`image_grid` with `n_rows = -1`):
 * `rows = round(√count)`, `columns = ⌈count / rows⌉`, near-square with the spare cells at the end. With
 * `columns` given, as many rows as needed.
 */
export function gridLayout(count: number, columns?: number): { rows: number; columns: number } {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`a grid needs at least one image, got ${count}`);
  if (columns !== undefined) {
    if (!Number.isSafeInteger(columns) || columns < 1) throw new RangeError(`columns must be ≥ 1, got ${columns}`);
    const cols = Math.min(columns, count);
    return { rows: Math.ceil(count / cols), columns: cols };
  }
  const rows = Math.round(Math.sqrt(count));
  return { rows, columns: Math.ceil(count / rows) };
}

/**
 * The images side by side in one picture, in reading order (A1111's `image_grid`): every cell is as large as
 * the largest image, smaller images are centred in theirs, and empty space is white.
 */
export function composeGrid(images: readonly Rgb8Image[], columns?: number): Rgb8Image {
  const layout = gridLayout(images.length, columns);
  const cellWidth = Math.max(...images.map((image) => image.width));
  const cellHeight = Math.max(...images.map((image) => image.height));
  const width = layout.columns * cellWidth;
  const height = layout.rows * cellHeight;
  const data = new Uint8Array(width * height * 3).fill(BACKGROUND);
  images.forEach((image, i) => {
    const left = (i % layout.columns) * cellWidth + Math.floor((cellWidth - image.width) / 2);
    const top = Math.floor(i / layout.columns) * cellHeight + Math.floor((cellHeight - image.height) / 2);
    for (let y = 0; y < image.height; y++) {
      const row = image.data.subarray(y * image.width * 3, (y + 1) * image.width * 3);
      data.set(row, ((top + y) * width + left) * 3);
    }
  });
  return { width, height, data };
}

/** {@link composeGrid} encoded as PNG, with `parameters` (the first image's infotext, as A1111 does) if given. */
export async function encodeGrid(
  images: readonly Rgb8Image[],
  options: { columns?: number; parameters?: string } = {},
): Promise<Uint8Array> {
  return encodePng(composeGrid(images, options.columns), options.parameters);
}
