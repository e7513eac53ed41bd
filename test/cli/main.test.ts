import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = (stream: PassThrough) => () => (stream.read() as Buffer | null)?.toString() ?? '';
  return { io: { stdout, stderr }, out: text(stdout), err: text(stderr) };
}

describe('dreamcord command line', () => {
  it('prints its help with --help and exits 0', async () => {
    const t = io();
    assert.equal(await runCli(['--help'], t.io), 0);
    assert.match(t.out(), /Usage: dreamcord <command>/);
  });

  it('refuses an unknown command with exit code 2', async () => {
    const t = io();
    assert.equal(await runCli(['paint'], t.io), 2);
    assert.match(t.err(), /Unknown command "paint"/);
  });
});
