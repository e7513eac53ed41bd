/**
 * Throws a `RangeError` naming `name` unless `value` is an integer of at least `min`. Used at every entry point
 * (options, costs, progress reports), where a wrong number is a bug in the caller.
 */
export function expectInteger(name: string, value: unknown, min: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min) return value;
  throw new RangeError(`Expected \`${name}\` to be an integer from ${min} up, got \`${String(value)}\` (${typeof value}).`);
}

/** Like {@link expectInteger}, for a finite number greater than 0 (a duration or a rate). */
export function expectPositive(name: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  throw new RangeError(`Expected \`${name}\` to be a finite number above 0, got \`${String(value)}\` (${typeof value}).`);
}
