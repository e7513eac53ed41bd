/**
 * cuRAND's Box–Muller transform (`_curand_box_muller`, used by `curand_normal4`) on the CPU. On the GPU it runs in
 * float32 with the fast intrinsics `__logf` and `__sincosf`; their hardware approximations cannot be reproduced
 * exactly, but their float32 steps are: `__logf` is log2 times ln 2 in float32, and `__sincosf` first scales its
 * argument to revolutions with a product rounded toward zero, which dominates its error. Copying those steps and
 * computing the rest exactly leaves an error of a few float32 ulps.
 */
import { fmaf, mulTowardZero } from './float32.js';

const f32 = Math.fround;
/** `CURAND_2POW32_INV` (2^-32) and `CURAND_2POW32_INV_2PI` (2^-32·2π), float32 constants. */
const TWO_POW_MINUS_32 = f32(2.3283064e-10);
const TWO_POW_MINUS_32_TWO_PI = f32(TWO_POW_MINUS_32 * f32(6.2831855));
const LN2 = f32(Math.LN2);
const INV_TWO_PI = f32(1 / (2 * Math.PI));

/**
 * One normal value from the 32-bit words `x` (radius) and `y` (angle): the first of the pair (`s·sin v`) or,
 * with `second`, the other one (`s·cos v`).
 */
export function curandNormal(x: number, y: number, second: boolean): number {
  // nvcc fuses `x·C + C/2` into one fma. For the radius C = 2^-32 and the float64 sum is exact, so one
  // rounding is all there is.
  const u = f32(f32(x) * TWO_POW_MINUS_32 + TWO_POW_MINUS_32 / 2);
  const v = fmaf(f32(y), TWO_POW_MINUS_32_TWO_PI, f32(TWO_POW_MINUS_32_TWO_PI / 2));
  const radius = f32(Math.sqrt(f32(-2 * f32(f32(Math.log2(u)) * LN2))));
  const angle = 2 * Math.PI * mulTowardZero(v, INV_TWO_PI);
  return f32(radius * f32(second ? Math.cos(angle) : Math.sin(angle)));
}
