// `npm run fuzz -- --runs N [--seed S] [--only pure|interactions]`: the long fuzz of issue 23. Prints the seed
// first; on a failure fast-check's report gives the seed, the path and the shrunk counterexample, and
// `npm run fuzz -- --runs N --seed S` replays it.
import { parseArgs } from 'node:util';
import { runInteractionFuzz } from './interaction-fuzz.js';
import { PURE_PROPERTIES } from './pure-properties.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '100' }, seed: { type: 'string' }, only: { type: 'string' }, 'max-actions': { type: 'string', default: '8' } },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const maxActions = Number(values['max-actions']);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed) || !Number.isInteger(maxActions) || maxActions < 1) {
  console.error('usage: npm run fuzz -- --runs N [--seed S] [--only pure|interactions] [--max-actions M]');
  process.exit(2);
}
console.log(`fuzz: seed ${seed}, ${runs} runs (replay with: npm run fuzz -- --runs ${runs} --seed ${seed})`);

let failed = false;
const report = (name: string) => (error: unknown) => {
  failed = true;
  console.error(`FAIL ${name}\n${error instanceof Error ? error.message : String(error)}`);
};

if (values.only !== 'interactions') {
  for (const { name, check } of PURE_PROPERTIES) {
    const started = Date.now();
    await check({ seed, numRuns: runs }).then(() => console.log(`ok   ${name} (${runs} runs, ${Date.now() - started} ms)`), report(name));
  }
}
if (values.only !== 'pure') {
  const started = Date.now();
  const onProgress = (done: number, counts: { actions: number; checks: number }) =>
    console.log(`     ${done} runs: ${counts.actions} actions, ${counts.checks} checks, ${Math.round((Date.now() - started) / 1000)} s`);
  await runInteractionFuzz({ seed, numRuns: runs, maxActions, strictDeadline: true, onProgress }).then((result) => {
    const perThousand = (result.elapsedMs / Math.max(1, result.actions)) * 1000;
    console.log(`ok   interactions: ${JSON.stringify(result)}`);
    console.log(`     ${result.actions} actions, ${result.checks} invariant checks, ${(perThousand / 1000).toFixed(1)} s per 1,000 actions`);
  }, report('interactions'));
}
process.exit(failed ? 1 : 0);
