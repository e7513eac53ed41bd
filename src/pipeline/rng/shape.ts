/**
 * The number of elements of a tensor of `shape` (1 for `[]`, like torch).
 * @throws {RangeError} when a dimension is not a non-negative integer.
 */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const size of shape) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`Expected \`shape\` to hold non-negative integers, got [${shape.join(', ')}]`);
    }
    count *= size;
  }
  return count;
}
