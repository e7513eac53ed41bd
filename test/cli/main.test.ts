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

describe('dreamcord tokenize', () => {
  it('prints the plain ids of a prompt through the dispatcher', async () => {
    const t = io();
    const code = await runCli(['tokenize', '--model', 'test/fixtures/tiny-sd', '--prompt-syntax', 'plain', 'a photograph of an astronaut riding a horse'], t.io);
    assert.equal(code, 0, t.err());
    const ids = JSON.parse(t.out()) as number[];
    // The reference ids for this prompt (test/fixtures/references/references.json, tokenizer[0].fast).
    assert.deepEqual(ids.slice(0, 10), [49406, 320, 8853, 539, 550, 18376, 6765, 320, 4558, 49407]);
    assert.equal(ids.length, 77);
  });

  it('lists it in the help', async () => {
    const t = io();
    await runCli(['--help'], t.io);
    assert.match(t.out(), /tokenize {3}Print the CLIP token ids/);
  });
});
