// Pillow's `Image.resize(size, resample, box)` of 8-bit pictures (Resample.c, `ImagingResample`; Pillow 9.5.0,
// A1111's pin) with its BICUBIC and LANCZOS filters: a separable convolution, horizontal pass first (each pass only
// where the size or the box asks for it), whose support widens with the reduction factor (so shrinking averages the
// whole footprint), with weights in fixed point (22 fraction bits) and rounding after each pass. A1111 shrinks an
// inpainting mask to the latent size with BICUBIC and resizes pictures and masks with LANCZOS (`resize_image`).

/** Fraction bits of Pillow's 8-bit resampling weights (`PRECISION_BITS`, 32 − 8 − 2). */
const PRECISION_BITS = 22;

/** Pillow's resampling filters used here, each with its support. */
export type PillowFilter = 'bicubic' | 'lanczos';

const FILTERS: Readonly<Record<PillowFilter, { readonly filter: (x: number) => number; readonly support: number }>> = {
  bicubic: { filter: bicubic, support: 2 },
  lanczos: { filter: lanczos, support: 3 },
};

/** A picture of `bands` interleaved bytes per pixel. */
export interface Bytes8 {
  readonly width: number;
  readonly height: number;
  readonly bands: number;
  readonly data: Uint8Array;
}

/** The source region `[x0, x1) × [y0, y1)` (Pillow's `box`); the whole picture by default. */
export type ResizeBox = readonly [x0: number, y0: number, x1: number, y1: number];

/** The taps of one output sample: the first source index and the integer weights. */
interface Taps {
  readonly first: number;
  readonly weights: Int32Array;
}

/** `image` resized to `outWidth × outHeight` as Pillow's `resize` does (a new picture). */
export function pillowResize(image: Bytes8, outWidth: number, outHeight: number, filter: PillowFilter, box?: ResizeBox): Bytes8 {
  const { width, height } = image;
  const [x0, y0, x1, y1] = box ?? [0, 0, width, height];
  // Whole-pixel boxes of the output's size are a crop (`_resize`'s `ImagingCrop`), the whole picture a copy.
  if (Number.isInteger(x0) && Number.isInteger(y0) && x1 - x0 === outWidth && y1 - y0 === outHeight) return crop(image, x0, y0, outWidth, outHeight);
  let current = image;
  if (outWidth !== width || x0 !== 0 || x1 !== outWidth) current = resamplePass(current, coefficients(width, x0, x1, outWidth, filter), 'horizontal');
  if (outHeight !== height || y0 !== 0 || y1 !== outHeight) current = resamplePass(current, coefficients(height, y0, y1, outHeight, filter), 'vertical');
  return current;
}

/** One 8-bit plane (`width × height` bytes) resized as Pillow's bicubic `resize` does. */
export function pillowResizeBicubic(plane: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  return pillowResize({ width, height, bands: 1, data: plane }, outWidth, outHeight, 'bicubic').data;
}

/** `image.crop((x, y, x + width, y + height))` within the picture. */
export function crop(image: Bytes8, x: number, y: number, width: number, height: number): Bytes8 {
  const { bands } = image;
  const data = new Uint8Array(width * height * bands);
  for (let row = 0; row < height; row++) {
    const start = ((y + row) * image.width + x) * bands;
    data.set(image.data.subarray(start, start + width * bands), row * width * bands);
  }
  return { width, height, bands, data };
}

/** Pillow's `bicubic_filter` (a = −0.5), support 2. */
function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** Pillow's `lanczos_filter`: the sinc truncated at 3, windowed by sinc(x / 3). */
function lanczos(x: number): number {
  return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const t = x * Math.PI;
  return Math.sin(t) / t;
}

/**
 * `precompute_coeffs` over the source range `[in0, in1)` (floats in C), then `normalize_coeffs_8bpc`: each output's
 * first source index and its fixed-point weights.
 */
function coefficients(inSize: number, in0: number, in1: number, outSize: number, name: PillowFilter): Taps[] {
  const { filter, support: filterSupport } = FILTERS[name];
  const scale = (Math.fround(in1) - Math.fround(in0)) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterSupport * filterScale;
  const ss = 1 / filterScale;
  return Array.from({ length: outSize }, (_, xx) => {
    const center = Math.fround(in0) + (xx + 0.5) * scale;
    const first = Math.max(Math.trunc(center - support + 0.5), 0);
    const last = Math.min(Math.trunc(center + support + 0.5), inSize);
    const raw = Array.from({ length: Math.max(last - first, 0) }, (_, x) => filter((x + first - center + 0.5) * ss));
    const total = raw.reduce((a, b) => a + b, 0);
    const weights = Int32Array.from(raw, (w) => {
      const normalized = total === 0 ? w : w / total;
      return Math.trunc(normalized < 0 ? -0.5 + normalized * 2 ** PRECISION_BITS : 0.5 + normalized * 2 ** PRECISION_BITS);
    });
    return { first, weights };
  });
}

/** One pass of `ImagingResampleHorizontal_8bpc` / `…Vertical_8bpc`, every band alike. */
function resamplePass(image: Bytes8, taps: readonly Taps[], axis: 'horizontal' | 'vertical'): Bytes8 {
  const { bands } = image;
  const horizontal = axis === 'horizontal';
  const width = horizontal ? taps.length : image.width;
  const height = horizontal ? image.height : taps.length;
  const data = new Uint8Array(width * height * bands);
  const lines = horizontal ? height : width;
  // Samples along a line sit one pixel apart horizontally, a row apart vertically.
  const step = (horizontal ? 1 : image.width) * bands;
  for (let line = 0; line < lines; line++) {
    taps.forEach(({ first, weights }, i) => {
      const outStart = ((horizontal ? line * width + i : i * width + line)) * bands;
      const inStart = (horizontal ? line * image.width + first : first * image.width + line) * bands;
      for (let band = 0; band < bands; band++) {
        // Integer arithmetic as in C: the sum stays below 2^53, so a double holds it exactly.
        let sum = 2 ** (PRECISION_BITS - 1);
        for (let k = 0; k < weights.length; k++) sum += (image.data[inStart + k * step + band] ?? 0) * (weights[k] ?? 0);
        data[outStart + band] = clip8(sum);
      }
    });
  }
  return { width, height, bands, data };
}

/** Pillow's `clip8`: the sum shifted down by the precision, clamped to a byte. */
function clip8(sum: number): number {
  if (sum >= 2 ** (PRECISION_BITS + 8)) return 255;
  if (sum <= 0) return 0;
  return Math.floor(sum / 2 ** PRECISION_BITS);
}
