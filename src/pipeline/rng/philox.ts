/** The Philox-4x32-10 counter-based generator (Salmon et al., 2011) as cuRAND and torch's CUDA generator use it. */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const ROUNDS = 10;

/** The high 32 bits of the 64-bit product of two unsigned 32-bit integers. */
function mulHigh(a: number, b: number): number {
  // Schoolbook multiplication on 16-bit halves: every partial product fits 32 bits, and int32 arithmetic is the
  // fastest JavaScript has.
  const aLow = a & 0xffff;
  const aHigh = a >>> 16;
  const bLow = b & 0xffff;
  const bHigh = b >>> 16;
  const lowLow = Math.imul(aLow, bLow) >>> 0;
  const lowHigh = Math.imul(aLow, bHigh) >>> 0;
  const highLow = Math.imul(aHigh, bLow) >>> 0;
  const carry = ((lowLow >>> 16) + (lowHigh & 0xffff) + (highLow & 0xffff)) >>> 16;
  return (Math.imul(aHigh, bHigh) + (lowHigh >>> 16) + (highLow >>> 16) + carry) >>> 0;
}

/**
 * Encrypts the 128-bit counter `c0…c3` (least significant word first) under the 64-bit key `k0, k1` and writes the
 * four random 32-bit words to `out`.
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): void {
  for (let round = 0; round < ROUNDS; round++) {
    const high0 = mulHigh(M0, c0);
    const low0 = Math.imul(M0, c0) >>> 0;
    const high1 = mulHigh(M1, c2);
    const low1 = Math.imul(M1, c2) >>> 0;
    // Bitwise results are signed in JavaScript; `>>> 0` keeps every word unsigned for the next multiplication.
    c0 = (high1 ^ c1 ^ k0) >>> 0;
    c1 = low1;
    c2 = (high0 ^ c3 ^ k1) >>> 0;
    c3 = low0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}
