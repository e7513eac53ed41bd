/**
 * Float32 operations that JavaScript has no operator for. Torch's kernels are compiled with fused multiply-adds
 * and CUDA's fast sine rounds a product toward zero; matching them bit for bit needs both roundings.
 */

const f32 = Math.fround;
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/**
 * `fmaf(a, b, c)` for float32 `a`, `b`, `c`: `a·b + c` rounded once to float32. The float64 product of two float32
 * values is exact, but the float64 sum is itself rounded, and when that lands exactly halfway between two floats
 * a second rounding (to float32) can go the wrong way; the sum's exact error decides those ties.
 */
export function fmaf(a: number, b: number, c: number): number {
  const product = a * b;
  const sum = product + c;
  const rounded = f32(sum);
  // `sum` is a float64 midpoint between float32 neighbours exactly when its mirror image about `rounded` is a float32.
  const mirror = 2 * sum - rounded;
  if (mirror === rounded || f32(mirror) !== mirror) return rounded;
  const bVirtual = sum - product;
  const error = product - (sum - bVirtual) + (c - bVirtual);
  if (error === 0) return rounded;
  return error > 0 ? Math.max(rounded, mirror) : Math.min(rounded, mirror);
}

/** The float32 product `a·b` rounded toward zero (PTX `mul.rz.f32`) instead of to nearest. */
export function mulTowardZero(a: number, b: number): number {
  const product = a * b;
  scratch[0] = product;
  // Rounding to nearest went away from zero: step one ulp back (the magnitude lives in the low 31 bits).
  if (Math.abs(scratch[0]) > Math.abs(product)) scratchBits[0] = (scratchBits[0] ?? 0) - 1;
  return scratch[0] ?? 0;
}
