// Unpacks test/fixtures.tar.xz (tiny SD models and diffusers references, kept compressed so the tracked tree
// stays small) into test/fixtures/. Skips the work when the stamp says this archive is already unpacked.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const archive = `${root}test/fixtures.tar.xz`;
const target = `${root}test/fixtures`;
const stamp = `${target}/.unpacked`;

const digest = createHash('sha256').update(readFileSync(archive)).digest('hex');
if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) process.exit(0);

execFileSync('tar', ['-xJf', archive, '-C', target], { stdio: 'inherit' });
writeFileSync(stamp, digest);
console.log(`fixtures unpacked into test/fixtures (${digest.slice(0, 12)})`);
