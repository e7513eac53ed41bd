// Pillow's `ImageFilter.GaussianBlur(radius)` on 8-bit bands (Pillow 9.5.0, A1111's pin; BoxBlur.c): not a
// Gaussian kernel but three passes of an "extended box" (Gwosdek et al.) whose fractional radius gives the same
// variance, computed in C `float`; each pass runs along the rows with 24-bit fixed-point weights in 32-bit unsigned
// arithmetic, the edge pixels repeated beyond the border; then the same three passes along the columns. A1111's
// "Masked content: fill" blurs the picture with it.

const f32 = Math.fround;

/** Passes of the box filter per axis (`ImagingGaussianBlur`'s default, which `gaussian_blur` uses). */
const PASSES = 3;

/**
 * `image` (`width × height` pixels of `bands` interleaved bytes) blurred as Pillow's `GaussianBlur(radius)` blurs
 * it; radius 0 leaves it as it is. A new array.
 */
export function pillowGaussianBlur(image: Uint8Array, width: number, height: number, bands: number, radius: number): Uint8Array {
  const weights = boxWeights(extendedBoxRadius(radius));
  const out = image.slice();
  const rows = { count: height, length: width, start: (row: number) => row * width * bands, step: bands };
  const columns = { count: width, length: height, start: (column: number) => column * bands, step: width * bands };
  for (const axis of [rows, columns]) {
    const line = new Uint8Array(axis.length);
    const blurred = new Uint8Array(axis.length);
    for (let pass = 0; pass < PASSES; pass++) {
      for (let i = 0; i < axis.count; i++) {
        for (let band = 0; band < bands; band++) {
          const start = axis.start(i) + band;
          for (let k = 0; k < axis.length; k++) line[k] = out[start + k * axis.step] ?? 0;
          boxBlurLine(line, blurred, weights);
          for (let k = 0; k < axis.length; k++) out[start + k * axis.step] = blurred[k] ?? 0;
        }
      }
    }
  }
  return out;
}

/**
 * `ImagingGaussianBlur`'s box radius for σ = `radius` over three passes, in C `float` (sqrt and floor in double):
 * the integer part `l` of the box whose variance is nearest, plus the fraction `a` of the extra pixel each side.
 */
export function extendedBoxRadius(radius: number): number {
  const r = f32(radius);
  const sigma2 = f32(f32(r * r) / PASSES);
  const length = f32(Math.sqrt(12.0 * sigma2 + 1.0));
  const l = f32(Math.floor((length - 1.0) / 2.0));
  const a = f32(f32(f32(2 * l) + 1) * f32(f32(l * f32(l + 1)) - f32(3 * sigma2)));
  return f32(l + f32(a / f32(6 * f32(sigma2 - f32(f32(l + 1) * f32(l + 1))))));
}

/** `ImagingHorizontalBoxBlur`'s weights: the box's whole radius, and 24-bit fixed-point weights (UINT32). */
interface BoxWeights {
  readonly radius: number;
  /** The weight of each pixel of the box. */
  readonly ww: number;
  /** The weight of the two pixels beyond it (the fractional radius). */
  readonly fw: number;
}

function boxWeights(floatRadius: number): BoxWeights {
  const radius = Math.trunc(floatRadius);
  // `(UINT32)(1 << 24) / (floatRadius * 2 + 1)` in float, truncated to an integer.
  const ww = Math.trunc(f32(2 ** 24 / f32(f32(floatRadius * 2) + 1)));
  const fw = Math.floor(((2 ** 24 - (radius * 2 + 1) * ww) >>> 0) / 2);
  return { radius, ww, fw };
}

/**
 * One pass along one line (`ImagingLineBoxBlur8`) into `out`: the sum of the `2·radius + 1` pixels around each
 * one, weighted `ww`, plus the two next ones weighted `fw`, in 24-bit fixed point (UINT32, `>>> 0`), rounded;
 * pixels beyond the ends are the end pixels.
 */
function boxBlurLine(line: Uint8Array, out: Uint8Array, { radius, ww, fw }: BoxWeights): void {
  const lastx = line.length - 1;
  const edgeA = Math.min(radius + 1, line.length);
  const edgeB = Math.max(line.length - radius - 1, 0);
  const first = line[0] ?? 0;
  const last = line[lastx] ?? 0;
  // The window of pixel −1: the first pixel radius + 1 times, then the line up to the radius (the last pixel past
  // its end).
  let acc = first * (radius + 1);
  for (let x = 0; x < edgeA - 1; x++) acc += line[x] ?? 0;
  acc += last * (radius - edgeA + 1);
  const save = (x: number, left: number, right: number) => {
    const bulk = (acc * ww + (left + right) * fw) >>> 0;
    out[x] = ((bulk + 0x800000) >>> 0) >>> 24;
  };
  // A radius wider than the line (edgeA > edgeB) meets both ends at once in the middle stretch.
  let x = 0;
  for (; x < Math.min(edgeA, edgeB); x++) {
    acc += (line[x + radius] ?? 0) - first;
    save(x, first, line[x + radius + 1] ?? 0);
  }
  for (; x < edgeB; x++) {
    acc += (line[x + radius] ?? 0) - (line[x - radius - 1] ?? 0);
    save(x, line[x - radius - 1] ?? 0, line[x + radius + 1] ?? 0);
  }
  for (; x < edgeA; x++) {
    acc += last - first;
    save(x, first, last);
  }
  for (; x <= lastx; x++) {
    acc += last - (line[x - radius - 1] ?? 0);
    save(x, line[x - radius - 1] ?? 0, last);
  }
}
