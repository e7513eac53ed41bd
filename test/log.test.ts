import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../src/log.js';

function capture(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

describe('createLogger', () => {
  const token = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.secret-token-value';

  it('never writes the token, wherever it appears', () => {
    const out = capture();
    const log = createLogger({ level: 'debug', secrets: [token], destination: out.stream });
    log.info(`logging in with ${token}`);
    log.warn({ token, url: `https://x/${token}/y` }, 'request');
    log.error({ err: new Error(`401 for token ${token}`) }, 'failed');
    log.debug({ nested: { deeper: [token] } }, 'nested');
    const text = out.lines().join('\n');
    assert.equal(out.lines().length, 4);
    assert.ok(!text.includes(token), text);
    assert.ok(!text.includes('secret-token-value'));
    // message, token field, url, error message, error stack (which repeats the message), nested array
    assert.equal(text.split('[REDACTED]').length - 1, 6);
  });

  it('keeps the rest of each line', () => {
    const out = capture();
    const log = createLogger({ secrets: [token], destination: out.stream });
    log.info({ jobId: 'j1' }, 'job started');
    const line = JSON.parse(out.lines()[0] ?? '{}') as Record<string, unknown>;
    assert.equal(line.msg, 'job started');
    assert.equal(line.jobId, 'j1');
  });

  it('respects the level', () => {
    const out = capture();
    const log = createLogger({ level: 'warn', destination: out.stream });
    log.info('hidden');
    log.warn('shown');
    assert.deepEqual(out.lines().map((l) => (JSON.parse(l) as { msg: string }).msg), ['shown']);
  });
});
