/**
 * Milliseconds until each waiting job finishes, when the waiting jobs start in order, each on the first slot to
 * free. `busyMs` holds the remaining time of each running job (at most `slots` of them; the other slots are free),
 * `durationsMs` the expected run time of each waiting job in start order. The result is in the same order.
 */
export function projectFinishes(busyMs: readonly number[], slots: number, durationsMs: readonly number[]): number[] {
  const freeAt = Array.from({ length: slots }, (_, slot) => busyMs[slot] ?? 0);
  return durationsMs.map((durationMs) => {
    let first = 0;
    for (let slot = 1; slot < slots; slot++) if ((freeAt[slot] ?? 0) < (freeAt[first] ?? 0)) first = slot;
    const finish = (freeAt[first] ?? 0) + durationMs;
    freeAt[first] = finish;
    return finish;
  });
}

/**
 * Expected remaining run time of a running job, in ms. With a progress report (`fraction` done, above 0), the pace
 * so far is extrapolated; before one, the expected duration less the time already spent (never below 0).
 */
export function remainingMs(expectedMs: number, elapsedMs: number, fraction: number): number {
  if (fraction > 0) return (elapsedMs * (1 - fraction)) / fraction;
  return Math.max(expectedMs - elapsedMs, 0);
}
