/** A text progress bar, `[#####-----]`, `width` characters between the brackets. */
export function progressBar(fraction: number, width = 30): string {
  const done = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(done)}${'-'.repeat(width - done)}]`;
}
