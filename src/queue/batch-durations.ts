/** Weight of the newest batch in the moving average of a shape's duration at one row count. Range: 0–1. */
const SMOOTHING = 0.2;
/** Shapes remembered, the least recently run dropped first: a few models × sizes × settings are in use at a time. */
const SHAPES = 64;

/**
 * Learns how long a batch takes, per shape (a batch key: model, size, steps, sampler… everything its jobs share) and
 * row count (the UNet rows of its jobs): a moving average of the measured durations at each row count the shape has
 * run. A row count not measured yet is read off a straight line through the measured ones, a fixed part (the loop,
 * the text encoder, a UNet run's launch) plus a part per row, which is what batching shows: four one-image jobs take
 * about 3× one job, not 4× (README, "Batching (library)"). With a single row count measured, time is taken as
 * proportional to rows: no gain from batching is assumed before one has been seen.
 */
export class BatchDurations {
  /** Per shape: ms by row count. */
  readonly #shapes = new Map<string, Map<number, number>>();

  /** Records a batch of `shape` and `rows` rows that ran `ms` from its start to its last job's end. */
  record(shape: string, rows: number, ms: number): void {
    const byRows = this.#shapes.get(shape) ?? new Map<number, number>();
    const average = byRows.get(rows);
    byRows.set(rows, average === undefined ? ms : average + SMOOTHING * (ms - average));
    this.#shapes.delete(shape); // re-inserted last: the map's order is the order shapes last ran
    this.#shapes.set(shape, byRows);
    const [oldest] = this.#shapes.keys();
    if (this.#shapes.size > SHAPES && oldest !== undefined) this.#shapes.delete(oldest);
  }

  /** Expected ms of a batch of `shape` with `rows` rows; `undefined` before a batch of that shape has been measured. */
  expectedMs(shape: string, rows: number): number | undefined {
    const byRows = this.#shapes.get(shape);
    if (!byRows) return undefined;
    return byRows.get(rows) ?? alongLine([...byRows], rows);
  }
}

/**
 * The ms at `rows` on the least-squares line through `points` ([rows, ms], distinct rows), with neither part below
 * 0: a line falling with rows is taken flat (their mean), one with a negative fixed part goes through 0 instead.
 */
export function alongLine(points: ReadonlyArray<readonly [number, number]>, rows: number): number {
  const n = points.length;
  const meanRows = points.reduce((sum, [r]) => sum + r, 0) / n;
  const meanMs = points.reduce((sum, [, ms]) => sum + ms, 0) / n;
  const spread = points.reduce((sum, [r]) => sum + (r - meanRows) ** 2, 0);
  if (spread === 0) return (meanMs * rows) / meanRows; // one row count: proportional
  const perRow = Math.max(points.reduce((sum, [r, ms]) => sum + (r - meanRows) * (ms - meanMs), 0) / spread, 0);
  const fixed = meanMs - perRow * meanRows;
  if (fixed >= 0) return fixed + perRow * rows;
  const throughZero = points.reduce((sum, [r, ms]) => sum + r * ms, 0) / points.reduce((sum, [r]) => sum + r * r, 0);
  return throughZero * rows;
}
