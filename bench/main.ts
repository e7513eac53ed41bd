// `npm run bench`: every benchmark, one after the other, printing its figures. Benchmarks measure; they never
// fail on a time (speed targets are read from these figures, not asserted in tests).
const benches: [string, () => Promise<{ [name: string]: () => Promise<void> }>, string][] = [];

for (const [title, load, exportName] of benches) {
  console.log(`\n## ${title}`);
  const module = await load();
  const run = module[exportName];
  if (!run) throw new Error(`bench module for ${title} has no export ${exportName}`);
  await run();
}
