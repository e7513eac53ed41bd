import type { Mask } from './types.js';

/** Named areas to repaint, for members who cannot draw a mask. */
export const MASK_REGIONS = ['left', 'right', 'top', 'bottom', 'center', 'border'] as const;

export type MaskRegion = (typeof MASK_REGIONS)[number];

/** A rectangle in fractions of the image, `[start, end)` per axis, and which side of it is repainted. */
interface RegionShape {
  readonly x: readonly [number, number];
  readonly y: readonly [number, number];
  readonly repaint: 'inside' | 'outside';
}

const SHAPES: Readonly<Record<MaskRegion, RegionShape>> = {
  left: { x: [0, 1 / 2], y: [0, 1], repaint: 'inside' },
  right: { x: [1 / 2, 1], y: [0, 1], repaint: 'inside' },
  top: { x: [0, 1], y: [0, 1 / 2], repaint: 'inside' },
  bottom: { x: [0, 1], y: [1 / 2, 1], repaint: 'inside' },
  // The middle half of each side: a quarter of the picture, where a subject usually stands.
  center: { x: [1 / 4, 3 / 4], y: [1 / 4, 3 / 4], repaint: 'inside' },
  // The background around a centred subject: a band of an eighth of each side.
  border: { x: [1 / 8, 7 / 8], y: [1 / 8, 7 / 8], repaint: 'outside' },
};

/**
 * A binary mask (1 = repaint) for a named region of a `width × height` image. Region edges are rounded to
 * multiples of 8 pixels, so the latent mask (one cell per 8 × 8 block) covers exactly the same area. Below
 * about 64 pixels a side, rounding can make the region empty or full: check with `isEmptyMask`/`isFullMask`.
 */
export function regionMask(region: MaskRegion, width: number, height: number): Mask {
  const shape = SHAPES[region];
  const [x0, x1] = shape.x.map((f) => edge(f, width));
  const [y0, y1] = shape.y.map((f) => edge(f, height));
  const inside = shape.repaint === 'inside' ? 1 : 0;
  const data = new Float32Array(width * height).fill(1 - inside);
  for (let y = y0!; y < y1!; y++) data.fill(inside, y * width + x0!, y * width + x1!);
  return { width, height, channels: 1, data };
}

/**
 * The pixel edge at `fraction` of `size`, on a multiple of 8 (the VAE's block size) counted from the nearer
 * side, so that opposite edges (1/8 and 7/8) are mirror images even where rounding is needed.
 */
function edge(fraction: number, size: number): number {
  const snap = (pixels: number): number => Math.min(size, Math.round(pixels / 8) * 8);
  return fraction > 1 / 2 ? size - snap((1 - fraction) * size) : snap(fraction * size);
}
