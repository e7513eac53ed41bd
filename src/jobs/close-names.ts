// Which of the names there are a mistyped one probably meant, so a refusal can say "did you mean …?".

/**
 * The names within a few edits (insert, delete or replace one character, case ignored) of `typed`, closest first:
 * at most 2 edits, and at most a third of the longer name, so that short names do not suggest unrelated ones.
 */
export function closeNames(typed: string, names: readonly string[]): string[] {
  const scored = names.map((name) => ({ name, edits: editDistance(typed.toLowerCase(), name.toLowerCase()) }));
  return scored
    .filter(({ name, edits }) => edits <= Math.min(2, Math.floor(Math.max(name.length, typed.length) / 3)))
    .sort((a, b) => a.edits - b.edits)
    .map(({ name }) => name);
}

/** Levenshtein's distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const replace = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(replace, (previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
