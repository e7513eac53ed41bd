/** OpenCV's `BORDER_REFLECT_101` index (`gfedcb|abcdefgh|gfedcba`), for any offset however far out. */
export function reflect101(i: number, length: number): number {
  if (length === 1) return 0;
  const period = 2 * (length - 1);
  const j = ((i % period) + period) % period;
  return j < length ? j : period - j;
}
