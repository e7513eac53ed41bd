import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh temporary folder, removed when the test (or suite) that made it finishes. */
export function tempDir(prefix = 'dreamcord-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const kept: string[] = [];
process.once('exit', () => {
  for (const dir of kept) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh temporary folder that outlives the test or hook that made it (one made in `before()`, or a store a later
 * test reopens), removed when the test process exits.
 */
export function processTempDir(prefix = 'dreamcord-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  kept.push(dir);
  return dir;
}
