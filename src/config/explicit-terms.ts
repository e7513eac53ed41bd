import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';

/** The explicit terms shipped with dreamcord, editable by whoever runs it. */
export const EXPLICIT_TERMS_PATH = fileURLToPath(new URL('../../config/explicit-terms.txt', import.meta.url));

/** Longest term; longer lines are a mistake (a paragraph pasted in), not a term. */
const TERM_CHARS = 100;

/**
 * Reads the explicit-terms list (one term or phrase per line, `#` comments, blank lines ignored). Throws a
 * `ConfigError` naming the file and line of anything it cannot use.
 */
export function readExplicitTerms(path = EXPLICIT_TERMS_PATH): readonly string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path} cannot be read: ${(error as Error).message}`);
  }
  const terms: string[] = [];
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    const term = line.trim();
    if (term === '' || term.startsWith('#')) continue;
    if (term.length > TERM_CHARS) throw new ConfigError(`${path}:${index + 1}: a term has at most ${TERM_CHARS} characters, got ${term.length}`);
    terms.push(term);
  }
  return Object.freeze(terms);
}
