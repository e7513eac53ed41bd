import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, readExplicitTerms } from '../../src/config/index.js';
import { tempDir } from '../support/temp-dir.js';

describe('the explicit-terms list', () => {
  it('ships with terms, one a line, without its comments', () => {
    const terms = readExplicitTerms();
    assert.ok(terms.includes('nude') && terms.includes('nsfw'));
    assert.ok(terms.every((term) => term.length > 0 && !term.startsWith('#') && term === term.trim()));
  });

  it('reads phrases, skips blank lines and comments, and accepts Windows line ends', () => {
    const path = join(tempDir(), 'terms.txt');
    writeFileSync(path, '# comment\r\n\r\n  adult only  \r\nbad word\r\n');
    assert.deepEqual(readExplicitTerms(path), ['adult only', 'bad word']);
  });

  it('names the file and line of a line too long to be a term, and a file that cannot be read', () => {
    const path = join(tempDir(), 'terms.txt');
    writeFileSync(path, `ok\n${'x'.repeat(101)}\n`);
    assert.throws(() => readExplicitTerms(path), (error: unknown) => error instanceof ConfigError && error.message === `${path}:2: a term has at most 100 characters, got 101`);
    assert.throws(() => readExplicitTerms(join(path, 'missing')), (error: unknown) => error instanceof ConfigError && /cannot be read/.test(error.message));
  });
});
