// A tiny model read as `sample` prediction, which A1111's sampling has no port for: in A1111 mode it draws with
// diffusers' pipeline (its fallback), the case that the fallback's tests need. Kept until the process exits (a copy
// made in a `before` hook serves the suite's tests).
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processTempDir } from '../../support/temp-dir.js';

/** A copy of the tiny model `fixture` (a folder of test/fixtures) whose scheduler says `sample` prediction. */
export function samplePredictionCopy(fixture: string): string {
  const dir = join(processTempDir(), `${fixture}-sample`);
  cpSync(`test/fixtures/${fixture}`, dir, { recursive: true });
  const configFile = join(dir, 'scheduler', 'scheduler_config.json');
  writeFileSync(configFile, JSON.stringify({ ...(JSON.parse(readFileSync(configFile, 'utf8')) as object), prediction_type: 'sample' }));
  return dir;
}
