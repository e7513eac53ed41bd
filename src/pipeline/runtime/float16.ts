/**
 * IEEE 754 half precision (fp16) ↔ float32, for models exported in fp16. ONNX Runtime for Node takes and returns
 * fp16 tensors as `Uint16Array`s of raw bits (Node 20 has no `Float16Array`).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The fp16 bits nearest to `value`, ties to even (the IEEE default, what numpy's and torch's `.half()` do).
 * Magnitudes above 65504 round to ±Infinity; NaN stays NaN.
 */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  return halfFromSingleBits(u32[0] ?? 0);
}

/** {@link toFloat16Bits} from the float32's bit pattern. */
function halfFromSingleBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const magnitude = bits & 0x7fffffff;
  if (magnitude >= 0x38800000 && magnitude < 0x47800000) {
    // Normal result (2^-14 ≤ |x| < 2^16), the hot path: rebias the exponent (127 → 15) and round the 13 dropped
    // mantissa bits to nearest even by adding 0xfff plus the kept mantissa's lowest bit. A carry correctly bumps
    // the exponent, up to Infinity (F. Giesen's float_to_half_fast3_rtne).
    return sign | ((magnitude - 0x38000000 + 0xfff + ((magnitude >>> 13) & 1)) >>> 13);
  }
  const mantissa = bits & 0x7fffff;
  if (magnitude >= 0x7f800000) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200 | (mantissa >>> 13));
  if (magnitude >= 0x47800000) return sign | 0x7c00;
  // Subnormal result: count units of 2^-24. Below half a unit (|x| < 2^-25) it rounds to zero.
  const halfExponent = (magnitude >>> 23) - 112;
  if (halfExponent < -10) return sign;
  return sign | roundShift(mantissa | 0x800000, 14 - halfExponent);
}

/** `value >> shift`, rounded to nearest, ties to even. */
function roundShift(value: number, shift: number): number {
  const quotient = value >>> shift;
  const remainder = value & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  return remainder > halfway || (remainder === halfway && (quotient & 1) === 1) ? quotient + 1 : quotient;
}

/** The value of fp16 `bits` (exact: every fp16 value is a float32 value). */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

let decodeTable: Float32Array | undefined;

/**
 * The float32 value of every fp16 bit pattern, indexed by the bits: a 256 KiB table built on first use, which makes
 * decoding one lookup per element.
 */
export function float16Values(): Float32Array {
  decodeTable ??= Float32Array.from({ length: 0x10000 }, (_, bits) => fromFloat16Bits(bits));
  return decodeTable;
}

/** Writes the fp16 bits of every value of `source` into `target` (same length; allocated when omitted). */
export function float32ToFloat16(
  source: Float32Array,
  target: Uint16Array = new Uint16Array(source.length),
): Uint16Array {
  // Read the bit patterns directly: a per-element round trip through a scratch array is several times slower.
  const bits = new Uint32Array(source.buffer, source.byteOffset, source.length);
  for (let i = 0; i < bits.length; i++) target[i] = halfFromSingleBits(bits[i] ?? 0);
  return target;
}

/** Writes the float32 value of every fp16 element of `source` into `target` (allocated when omitted). */
export function float16ToFloat32(
  source: Uint16Array,
  target: Float32Array = new Float32Array(source.length),
): Float32Array {
  const values = float16Values();
  for (let i = 0; i < source.length; i++) target[i] = values[source[i] ?? 0] ?? 0;
  return target;
}
