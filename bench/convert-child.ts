// Run by bench/convert.ts in a process of its own, so that the peak RSS it reports is the conversion's alone.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { convertCheckpoint } from '../src/convert/convert.js';
import { sourceSha256 } from '../src/convert/source-files.js';

const [source = '', target = '', dtype = 'fp16'] = process.argv.slice(2);
const started = performance.now();
const sha256 = await sourceSha256(source);
const hashSeconds = (performance.now() - started) / 1000;
await convertCheckpoint(source, target, { dtype: dtype === 'fp32' ? 'fp32' : 'fp16', sha256 });
const seconds = (performance.now() - started) / 1000;
const bytes = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const path = join(dir, entry.name);
    return sum + (entry.isDirectory() ? bytes(path) : statSync(path).size);
  }, 0);
process.stdout.write(JSON.stringify({ seconds, hashSeconds, maxRssMb: process.resourceUsage().maxRSS / 1024, bytes: bytes(target) }));
