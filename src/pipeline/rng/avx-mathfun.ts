/**
 * Scalar float32 replicas of `log256_ps` and `sincos256_ps` from torch's `avx_mathfun.h` (Cephes polynomials),
 * which torch's CPU `randn` uses for tensors of 16 or more float32 elements. Torch builds that code with FMA
 * enabled and the compiler fuses each product into the addition that consumes it (the first product, where an
 * addition takes two); every `fmaf` below stands for one such fused instruction, every `f32` for one rounding.
 */
import { fmaf } from './float32.js';

const f32 = Math.fround;
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

const SQRT_HALF = f32(Math.SQRT1_2);
const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(f32);
const LOG_Q1 = f32(-2.1219444e-4);
const LOG_Q2 = f32(0.693359375);

const FOUR_OVER_PI = f32(1.27323954473516);
const MINUS_DP1 = f32(-0.78515625);
const MINUS_DP2 = f32(-2.4187564849853515625e-4);
const MINUS_DP3 = f32(-3.774894977445941e-8);
const SIN_P0 = f32(-1.9515295891e-4);
const SIN_P1 = f32(8.3321608736e-3);
const SIN_P2 = f32(-1.6666654611e-1);
const COS_P0 = f32(2.443315711809948e-5);
const COS_P1 = f32(-1.388731625493765e-3);
const COS_P2 = f32(4.166664568298827e-2);

/** `log256_ps` for one positive, normal float32 `x` (torch only passes values in (2^-24, 1]). */
export function logAvx(x: number): number {
  scratch[0] = x;
  const bits = scratchBits[0] ?? 0;
  let exponent = (bits >>> 23) - 0x7f + 1;
  // Keep the mantissa with the exponent of 0.5, so that m lies in [0.5, 1).
  scratchBits[0] = (bits & ~0x7f800000) | 0x3f000000;
  let m = scratch[0] ?? 0;
  if (m < SQRT_HALF) {
    exponent -= 1;
    m = f32(f32(m - 1) + m);
  } else {
    m = f32(m - 1);
  }
  const z = f32(m * m);
  let y = LOG_P[0] ?? 0;
  for (let k = 1; k < LOG_P.length; k++) y = fmaf(y, m, LOG_P[k] ?? 0);
  y = f32(y * m);
  y = fmaf(y, z, f32(exponent * LOG_Q1));
  y = f32(y - z * 0.5); // fused as y − z·0.5, whose product is exact: one rounding either way
  return fmaf(exponent, LOG_Q2, f32(m + y));
}

/**
 * `sincos256_ps` for one float32 angle `x ≥ 0` (torch's angles are 2π·u with u in [0, 1)); writes sin(x) to
 * `out[0]` and cos(x) to `out[1]`.
 */
export function sinCosAvx(x: number, out: Float32Array): void {
  // The even multiple of π/4 nearest x, subtracted in three parts so the remainder keeps its precision (Cody–Waite).
  const octant = (Math.trunc(f32(x * FOUR_OVER_PI)) + 1) & ~1;
  let r = fmaf(octant, MINUS_DP1, x);
  r = fmaf(octant, MINUS_DP2, r);
  r = fmaf(octant, MINUS_DP3, r);

  const z = f32(r * r);
  let cosPoly = fmaf(COS_P0, z, COS_P1);
  cosPoly = fmaf(cosPoly, z, COS_P2);
  cosPoly = f32(cosPoly * z);
  cosPoly = f32(fmaf(cosPoly, z, -f32(z * 0.5)) + 1);
  let sinPoly = fmaf(SIN_P0, z, SIN_P1);
  sinPoly = fmaf(sinPoly, z, SIN_P2);
  sinPoly = f32(sinPoly * z);
  sinPoly = fmaf(sinPoly, r, r);

  // Octants 2 and 6 swap the polynomials; the sign flips follow Cephes. Adding +0 mirrors the blend of the
  // two masked polynomials, which turns a −0 into +0.
  const swap = (octant & 2) !== 0;
  const sin = (swap ? cosPoly : sinPoly) + 0;
  const cos = (swap ? sinPoly : cosPoly) + 0;
  out[0] = octant & 4 ? -sin : sin;
  out[1] = ~(octant - 2) & 4 ? -cos : cos;
}
