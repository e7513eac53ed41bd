// Zoom out and pan: a result's picture placed on a new canvas, and the mask of the canvas's new area, for the
// inpainting path to fill with the picture's prompt.
import { fromRgb8, resizeImage, SIZE_MULTIPLE, toRgb8, type Mask, type Rgb8Image, type Size } from '../pipeline/index.js';
import { SIDE_LIMITS } from '../generator/working-size.js';

/** Zoom out by a factor (the picture in the middle of a canvas that much larger), or pan (the view moved one way). */
export type Outpaint = { readonly kind: 'zoom-out'; readonly factor: 1.5 | 2 } | { readonly kind: 'pan'; readonly direction: PanDirection };
export type PanDirection = 'left' | 'right' | 'up' | 'down';

/** The share of the picture's side a pan brings in (a multiple of 8 pixels, at least 8). */
const PAN_SHARE = 0.25;

export interface OutpaintCanvas {
  /** The picture on the canvas; the new area is filled with the picture's nearest edge pixels. */
  readonly canvas: Rgb8Image;
  /** 1 = the new area (to paint), 0 = the picture's pixels (kept exactly). */
  readonly mask: Mask;
  /** The size the picture was scaled down to, when the canvas would have been over `maxPixels` (zoom out only). */
  readonly scaledTo?: Size;
}

/**
 * The canvas and mask of `outpaint` on `picture`. Zoom out: a canvas `factor` times the picture's size (sides down
 * to a multiple of 8), the picture in its middle; over `maxPixels` (or the longest side the bot makes) the whole
 * canvas is scaled down, the picture with it. Pan: a canvas of the picture's size, the picture moved a quarter of
 * its side the other way, so a strip of new area comes in on the side panned to.
 */
export async function outpaintCanvas(picture: Rgb8Image, outpaint: Outpaint, maxPixels: number): Promise<OutpaintCanvas> {
  if (outpaint.kind === 'pan') {
    const { dx, dy } = panShift(picture, outpaint.direction);
    return placed(picture, { width: picture.width, height: picture.height }, dx, dy);
  }
  const wanted = { width: multipleOf8(picture.width * outpaint.factor), height: multipleOf8(picture.height * outpaint.factor) };
  const scale = Math.min(1, Math.sqrt(maxPixels / (wanted.width * wanted.height)), SIDE_LIMITS.max / Math.max(wanted.width, wanted.height));
  if (scale === 1) return placed(picture, wanted, (wanted.width - picture.width) >> 1, (wanted.height - picture.height) >> 1);
  const canvas = { width: multipleOf8(wanted.width * scale), height: multipleOf8(wanted.height * scale) };
  const scaledTo = { width: Math.round(picture.width * scale), height: Math.round(picture.height * scale) };
  const small = toRgb8(await resizeImage(fromRgb8(picture), scaledTo.width, scaledTo.height));
  return { ...placed(small, canvas, (canvas.width - small.width) >> 1, (canvas.height - small.height) >> 1), scaledTo };
}

/** How far a pan moves the picture on its canvas: the other way from the direction panned to. */
function panShift(picture: Size, direction: PanDirection): { dx: number; dy: number } {
  const strip = (side: number) => Math.max(SIZE_MULTIPLE, multipleOf8(side * PAN_SHARE));
  switch (direction) {
    case 'left':
      return { dx: strip(picture.width), dy: 0 };
    case 'right':
      return { dx: -strip(picture.width), dy: 0 };
    case 'up':
      return { dx: 0, dy: strip(picture.height) };
    case 'down':
      return { dx: 0, dy: -strip(picture.height) };
  }
}

/**
 * `picture` with its top left corner at (`dx`, `dy`) on a canvas of `size`: its own pixels where it lies (exactly),
 * elsewhere its nearest edge pixel, which gives the model colours to continue rather than a flat border.
 */
function placed(picture: Rgb8Image, size: Size, dx: number, dy: number): OutpaintCanvas {
  const { width, height } = size;
  const data = new Uint8Array(width * height * 3);
  const mask = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const py = y - dy;
    const sy = Math.min(Math.max(py, 0), picture.height - 1);
    for (let x = 0; x < width; x++) {
      const px = x - dx;
      const sx = Math.min(Math.max(px, 0), picture.width - 1);
      const from = (sy * picture.width + sx) * 3;
      data.set(picture.data.subarray(from, from + 3), (y * width + x) * 3);
      mask[y * width + x] = px === sx && py === sy ? 0 : 1;
    }
  }
  return { canvas: { width, height, data }, mask: { width, height, channels: 1, data: mask } };
}

function multipleOf8(value: number): number {
  return Math.max(SIZE_MULTIPLE, Math.floor((value + 1e-9) / SIZE_MULTIPLE) * SIZE_MULTIPLE);
}
