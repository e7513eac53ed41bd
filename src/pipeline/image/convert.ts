import type { Rgb8Image, RgbImage } from './types.js';

/**
 * `byte / 255` as float32 for each byte. The division happens in double precision and is then rounded once
 * to float32, which gives the same float32 as numpy's `array.astype(np.float32) / 255.0` (diffusers'
 * `pil_to_numpy`): a double-rounded quotient equals the correctly rounded one for float32 operands.
 */
export function bytesToUnit(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! / 255;
  return out;
}

/** An 8-bit image as floats in [0, 1] (`byte / 255`, see {@link bytesToUnit}). */
export function fromRgb8(image: Rgb8Image): RgbImage {
  return { width: image.width, height: image.height, channels: 3, data: bytesToUnit(image.data) };
}

/**
 * Unit floats to bytes the way diffusers' `numpy_to_pil` does: `(x · 255).round()` with the product in
 * float32 and numpy's round-half-to-even, then clamped to [0, 255]. (A1111 truncates instead, with
 * `astype(np.uint8)`; rounding is the more accurate of the two and what the fixtures' pipeline uses.)
 * Bytes decoded with {@link bytesToUnit} come back unchanged.
 */
export function unitToBytes(values: Float32Array): Uint8Array {
  // Storing into a Uint8ClampedArray clamps and rounds ties to even (ECMAScript ToUint8Clamp), NaN to 0.
  const out = new Uint8ClampedArray(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.fround(values[i]! * 255);
  return new Uint8Array(out.buffer);
}

/** A float RGB image as 8-bit RGB, rounded as {@link unitToBytes} does. */
export function toRgb8(image: RgbImage): Rgb8Image {
  return { width: image.width, height: image.height, data: unitToBytes(image.data) };
}
