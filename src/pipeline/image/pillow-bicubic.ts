// Pillow's `Image.resize(size)` of an 8-bit plane with its default filter, BICUBIC (Resample.c, `ImagingResample`):
// a separable convolution, horizontal pass first, whose support widens with the reduction factor (so shrinking
// averages the whole footprint), with weights in fixed point (22 fraction bits) and rounding after each pass. A1111
// shrinks an inpainting mask to the latent size with it.

/** Fraction bits of Pillow's 8-bit resampling weights (`PRECISION_BITS`, 32 − 8 − 2). */
const PRECISION_BITS = 22;

/** The taps of one output sample: the first source index and the integer weights. */
interface Taps {
  readonly first: number;
  readonly weights: Int32Array;
}

/** `plane` (`width × height` bytes) resized to `outWidth × outHeight` as Pillow's bicubic `resize` does. */
export function pillowResizeBicubic(plane: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  let current = plane;
  if (outWidth !== width) current = resamplePass(current, coefficients(width, outWidth), height, width, outWidth, 'horizontal');
  if (outHeight !== height) current = resamplePass(current, coefficients(height, outHeight), outWidth, height, outHeight, 'vertical');
  return current === plane ? plane.slice() : current;
}

/** Pillow's `bicubic_filter` (a = −0.5), support 2. */
function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** `precompute_coeffs` then `normalize_coeffs_8bpc`: each output's source range and its fixed-point weights. */
function coefficients(inSize: number, outSize: number): Taps[] {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  return Array.from({ length: outSize }, (_, xx) => {
    const center = (xx + 0.5) * scale;
    const first = Math.max(Math.trunc(center - support + 0.5), 0);
    const last = Math.min(Math.trunc(center + support + 0.5), inSize);
    const raw = Array.from({ length: last - first }, (_, x) => bicubic((x + first - center + 0.5) / filterScale));
    const total = raw.reduce((a, b) => a + b, 0);
    const weights = Int32Array.from(raw, (w) => {
      const normalized = total === 0 ? w : w / total;
      return Math.trunc(normalized < 0 ? -0.5 + normalized * 2 ** PRECISION_BITS : 0.5 + normalized * 2 ** PRECISION_BITS);
    });
    return { first, weights };
  });
}

/** One pass of `ImagingResampleHorizontal_8bpc` / `…Vertical_8bpc` over `lines` lines of `inLength` samples. */
function resamplePass(src: Uint8Array, taps: readonly Taps[], lines: number, inLength: number, outLength: number, axis: 'horizontal' | 'vertical'): Uint8Array {
  const out = new Uint8Array(lines * outLength);
  // Horizontal: lines are rows (samples adjacent); vertical: lines are columns (samples a row apart).
  const inAt = axis === 'horizontal' ? (line: number, i: number) => line * inLength + i : (line: number, i: number) => i * lines + line;
  const outAt = axis === 'horizontal' ? (line: number, i: number) => line * outLength + i : (line: number, i: number) => i * lines + line;
  for (let line = 0; line < lines; line++) {
    taps.forEach(({ first, weights }, i) => {
      // Integer arithmetic as in C: the sum stays below 2^53, so a double holds it exactly.
      let sum = 2 ** (PRECISION_BITS - 1);
      weights.forEach((w, k) => {
        sum += (src[inAt(line, first + k)] ?? 0) * w;
      });
      out[outAt(line, i)] = clip8(sum);
    });
  }
  return out;
}

/** Pillow's `clip8`: the sum shifted down by the precision, clamped to a byte. */
function clip8(sum: number): number {
  if (sum >= 2 ** (PRECISION_BITS + 8)) return 255;
  if (sum <= 0) return 0;
  return Math.floor(sum / 2 ** PRECISION_BITS);
}
