import { PipelineError } from '../errors.js';

// Tiled VAE decoding: diffusers' `AutoencoderKL.tiled_decode`, ported rule for rule, for pictures whose decode would
// not fit in memory at once. The latents are cut into overlapping square tiles (a quarter overlap), each decoded
// alone; each tile is blended into the one above it and the one left of it (already blended themselves: diffusers
// blends in place, tile by tile) over the overlap, linearly, then cropped, and the crops are joined.

/** The VAE decoder's upscaling: a latent pixel is 8×8 picture pixels. */
const SCALE = 8;
/** diffusers' `tile_overlap_factor`. */
const OVERLAP = 0.25;

/**
 * When the VAE decoder tiles: `auto` when {@link estimateDecodeBytes} exceeds the budget, `always` whenever the
 * picture is larger than one tile (diffusers' `enable_tiling()`), `never`.
 */
export type VaeTilingMode = 'auto' | 'always' | 'never';

/** How the VAE decoder tiles; every field resolved (see `PipelineOptions.vaeTiling` for the defaults). */
export interface VaeTiling {
  readonly mode: VaeTilingMode;
  /** The tile's side in picture pixels (diffusers' `tile_sample_min_size`, the VAE's `sample_size`), a multiple of 8. */
  readonly tileSize: number;
  /** The decode memory above which `auto` tiles, in bytes. */
  readonly budgetBytes: number;
}

/** What a caller may set of {@link VaeTiling}; the rest takes its default. */
export interface VaeTilingOptions {
  /** @default 'auto' */
  readonly mode?: VaeTilingMode;
  /**
   * The tile's side in picture pixels, a multiple of 32 from 64 up (so that the tiles' crops add up to the picture).
   * @default the model's native size (512 for SD 1.x, 1024 for SDXL: diffusers' VAE `sample_size`)
   */
  readonly tileSize?: number;
  /** The estimated decode memory above which `auto` tiles, in MiB. @default 4096 */
  readonly memoryBudgetMB?: number;
}

const DEFAULT_BUDGET_MB = 4096;

/**
 * `options` with every default filled in, for a model whose native size is `nativeSize`.
 * @throws PipelineError `INVALID_REQUEST` naming the field for a mode, tile size or budget out of range.
 */
export function resolveVaeTiling(options: VaeTilingOptions = {}, nativeSize: number): VaeTiling {
  const { mode = 'auto', tileSize = nativeSize, memoryBudgetMB = DEFAULT_BUDGET_MB } = options;
  const invalid = (field: string, expected: string, value: unknown): PipelineError =>
    new PipelineError('INVALID_REQUEST', `Expected \`vaeTiling.${field}\` ${expected}, got ${String(value)} (${typeof value})`, {
      field: `vaeTiling.${field}`,
    });
  if (!['auto', 'always', 'never'].includes(mode)) throw invalid('mode', 'auto, always or never', mode);
  if (!Number.isInteger(tileSize) || tileSize < 64 || tileSize % 32 !== 0) {
    throw invalid('tileSize', 'a multiple of 32 from 64 up', tileSize);
  }
  if (!(memoryBudgetMB > 0)) throw invalid('memoryBudgetMB', 'a positive number of MiB', memoryBudgetMB);
  return { mode, tileSize, budgetBytes: memoryBudgetMB * 1024 * 1024 };
}

/** Decodes one latent tile (`[1, 4, height, width]`) into float32 NCHW `[1, 3, 8·height, 8·width]`. */
export type DecodeTile = (latents: Float32Array, width: number, height: number) => Promise<Float32Array>;

/**
 * A rough upper bound of the memory one decode takes, in bytes, for a picture of `width`×`height` with values of
 * `bytesPerValue`: SD's VAE decoder runs its last blocks at full size with 128 channels (about four such buffers live
 * at once), and its attention over the latent pixels may hold the full matrix of scores.
 */
export function estimateDecodeBytes(width: number, height: number, bytesPerValue: number): number {
  const pixels = width * height;
  const latentPixels = pixels / (SCALE * SCALE);
  return pixels * 128 * 4 * bytesPerValue + latentPixels * latentPixels * bytesPerValue;
}

/**
 * Whether `tiling` decodes latents of `latentWidth`×`latentHeight` in tiles. Never for latents within one tile
 * (diffusers' rule: they decode as they are).
 */
export function shouldTile(tiling: VaeTiling, latentWidth: number, latentHeight: number, bytesPerValue: number): boolean {
  const tileLatent = Math.trunc(tiling.tileSize / SCALE);
  if (tiling.mode === 'never' || (latentWidth <= tileLatent && latentHeight <= tileLatent)) return false;
  if (tiling.mode === 'always') return true;
  return estimateDecodeBytes(latentWidth * SCALE, latentHeight * SCALE, bytesPerValue) > tiling.budgetBytes;
}

/** A decoded tile: 3 planes of `height`×`width`. */
interface Tile {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/**
 * diffusers' `tiled_decode` of one picture's latents (`[1, 4, latentHeight, latentWidth]`, already divided by the
 * scaling factor) with tiles of `tileSize` picture pixels.
 * @returns float32 NCHW `[1, 3, 8·latentHeight, 8·latentWidth]`.
 */
export async function tiledDecode(
  latents: Float32Array,
  latentWidth: number,
  latentHeight: number,
  tileSize: number,
  decodeTile: DecodeTile,
): Promise<Float32Array> {
  const tileLatent = Math.trunc(tileSize / SCALE);
  const stride = Math.trunc(tileLatent * (1 - OVERLAP));
  const blendExtent = Math.trunc(tileSize * OVERLAP);
  const rowLimit = tileSize - blendExtent;

  // 1. Decode the overlapping tiles, row by row.
  const rows: Tile[][] = [];
  for (let top = 0; top < latentHeight; top += stride) {
    const row: Tile[] = [];
    for (let left = 0; left < latentWidth; left += stride) {
      const width = Math.min(tileLatent, latentWidth - left);
      const height = Math.min(tileLatent, latentHeight - top);
      const tile = cropLatents(latents, latentWidth, latentHeight, left, top, width, height);
      row.push({ data: await decodeTile(tile, width, height), width: width * SCALE, height: height * SCALE });
    }
    rows.push(row);
  }

  // 2. Blend each tile with the (blended) tile above and the (blended) tile to its left, in place, and crop.
  const picture = new Float32Array(3 * latentWidth * SCALE * latentHeight * SCALE);
  let y0 = 0;
  for (const [i, row] of rows.entries()) {
    let x0 = 0;
    let cropHeight = 0;
    for (const [j, tile] of row.entries()) {
      const above = rows[i - 1]?.[j];
      const left = row[j - 1];
      if (above) blendVertically(above, tile, blendExtent);
      if (left) blendHorizontally(left, tile, blendExtent);
      const cropWidth = Math.min(rowLimit, tile.width);
      cropHeight = Math.min(rowLimit, tile.height);
      paste(picture, latentWidth * SCALE, latentHeight * SCALE, tile, x0, y0, cropWidth, cropHeight);
      x0 += cropWidth;
    }
    y0 += cropHeight;
  }
  return picture;
}

/** The `width`×`height` window at (`left`, `top`) of 4-channel latents, as its own array. */
function cropLatents(
  latents: Float32Array,
  latentWidth: number,
  latentHeight: number,
  left: number,
  top: number,
  width: number,
  height: number,
): Float32Array {
  const tile = new Float32Array(latents.length / (latentWidth * latentHeight) * width * height);
  const channels = tile.length / (width * height);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      const from = (c * latentHeight + top + y) * latentWidth + left;
      tile.set(latents.subarray(from, from + width), (c * height + y) * width);
    }
  }
  return tile;
}

/** torch's `a * (1 - i / n) + b * (i / n)` on float32 tensors: each product and the sum rounded to float32. */
function fade(a: number, b: number, i: number, n: number): number {
  return Math.fround(Math.fround(a * Math.fround(1 - i / n)) + Math.fround(b * Math.fround(i / n)));
}

/** diffusers' `blend_v`: `b`'s first rows fade in from `a`'s last rows. */
function blendVertically(a: Tile, b: Tile, extent: number): void {
  const rows = Math.min(a.height, b.height, extent);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < rows; y++) {
      const from = (c * a.height + a.height - rows + y) * a.width;
      const to = (c * b.height + y) * b.width;
      for (let x = 0; x < b.width; x++) b.data[to + x] = fade(a.data[from + x] ?? 0, b.data[to + x] ?? 0, y, rows);
    }
  }
}

/** diffusers' `blend_h`: `b`'s first columns fade in from `a`'s last columns. */
function blendHorizontally(a: Tile, b: Tile, extent: number): void {
  const columns = Math.min(a.width, b.width, extent);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < b.height; y++) {
      const from = (c * a.height + y) * a.width + a.width - columns;
      const to = (c * b.height + y) * b.width;
      for (let x = 0; x < columns; x++) b.data[to + x] = fade(a.data[from + x] ?? 0, b.data[to + x] ?? 0, x, columns);
    }
  }
}

/** Copies the top-left `width`×`height` of `tile` into the picture at (`x0`, `y0`). */
function paste(
  picture: Float32Array,
  pictureWidth: number,
  pictureHeight: number,
  tile: Tile,
  x0: number,
  y0: number,
  width: number,
  height: number,
): void {
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const from = (c * tile.height + y) * tile.width;
      picture.set(tile.data.subarray(from, from + width), (c * pictureHeight + y0 + y) * pictureWidth + x0);
    }
  }
}
