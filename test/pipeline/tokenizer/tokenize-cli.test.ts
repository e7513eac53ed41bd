import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';

import type { CliIO } from '../../../src/cli/command.js';
import { UsageError } from '../../../src/cli/command.js';
import { tokenizeCommand } from '../../../src/cli/tokenize.js';
import { MODEL_DIR, TOKENIZER_REFERENCES, window, wordId } from './fixtures.js';

/** A stream that keeps what is written to it. */
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function run(argv: string[]): Promise<{ stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const io: CliIO = { stdout, stderr };
  await tokenizeCommand.run(argv, io);
  return { stdout: stdout.text, stderr: stderr.text };
}

describe('dreamcord tokenize', () => {
  test('plain prints the 77 ids diffusers uses', async () => {
    const reference = TOKENIZER_REFERENCES.find((r) => r.prompt === 'A Cat, sitting on a mat!');
    assert.ok(reference);
    const { stdout, stderr } = await run(['--model', MODEL_DIR, '--prompt-syntax', 'plain', reference.prompt]);
    assert.equal(stdout, `${JSON.stringify(reference.fast)}\n`);
    assert.equal(stderr, '');
  });

  test('a1111 (the default) prints chunks and shortest float32 weights; warnings go to stderr', async () => {
    const { stdout, stderr } = await run(['--model', MODEL_DIR, '(cat) BREAK [dog] <lora:x:1>']);
    const ones = (count: number): number[] => Array<number>(count).fill(1);
    assert.deepEqual(JSON.parse(stdout), {
      chunks: [window([wordId('cat')]), window([wordId('dog')])],
      // 1/1.1 as float32 is 0.909090936…; 0.90909094 is the shortest decimal that reads back as it.
      weights: [[1, 1.1, ...ones(75)], [1, 0.90909094, ...ones(75)]],
    });
    assert.equal(
      stderr,
      'Prompt: Removed <lora:x:1>: LoRA, hypernetworks and other extra networks are not supported.\n',
    );
  });

  test('bad arguments are usage errors', async () => {
    await assert.rejects(run(['a cat']), new UsageError('--model DIR is required'));
    await assert.rejects(
      run(['--model', MODEL_DIR, '--prompt-syntax', 'compel', 'a cat']),
      new UsageError('--prompt-syntax must be plain or a1111, got "compel"'),
    );
    await assert.rejects(
      run(['--model', MODEL_DIR, 'a', 'cat']),
      new UsageError('expected the prompt as one argument (quote it), got 2'),
    );
    await assert.rejects(run(['--model', MODEL_DIR, '--colour', 'a cat']), UsageError);
  });
});
