import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { ClipTokenizer, tokenizePromptPair, type PromptSyntax } from '../pipeline/index.js';
import { UsageError, type CliCommand } from './command.js';

const SYNTAXES: readonly PromptSyntax[] = ['plain', 'a1111'];

const USAGE = `Usage: dreamcord tokenize --model DIR [--prompt-syntax plain|a1111] "text"

Prints the CLIP token ids of "text" as JSON, using the tokenizer in DIR/tokenizer.
  --model DIR              a diffusers model folder
  --prompt-syntax SYNTAX   plain: diffusers' way, one array of 77 ids (text past 75 tokens dropped)
                           a1111: A1111 attention syntax, {"chunks": [[77 ids], …], "weights": [[77 numbers], …]}
                           (default a1111)
Warnings (dropped text, unsupported syntax) go to stderr.`;

/** `dreamcord tokenize`: shows how a prompt is tokenized, for checking prompts and comparing with other tools. */
export const tokenizeCommand: CliCommand = {
  name: 'tokenize',
  summary: 'Print the CLIP token ids (and A1111 weights) of a prompt as JSON',
  usage: USAGE,
  async run(argv, io) {
    const { model, syntax, text } = parseTokenizeArgs(argv);
    const tokenizer = await ClipTokenizer.load(join(model, 'tokenizer'));
    const { prompt, warnings } = tokenizePromptPair(tokenizer, text, '', syntax);
    for (const warning of warnings) io.stderr.write(`${warning}\n`);
    const output =
      syntax === 'plain'
        ? Array.from(prompt.chunks[0] ?? [])
        : {
            chunks: prompt.chunks.map((chunk) => Array.from(chunk)),
            weights: prompt.weights.map((weights) => Array.from(weights, shortestFloat32)),
          };
    io.stdout.write(`${JSON.stringify(output)}\n`);
  },
};

function parseTokenizeArgs(argv: readonly string[]): { model: string; syntax: PromptSyntax; text: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { model: { type: 'string' }, 'prompt-syntax': { type: 'string', default: 'a1111' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { model, 'prompt-syntax': syntax } = parsed.values;
  if (model === undefined || model === '') throw new UsageError('--model DIR is required');
  if (!SYNTAXES.includes(syntax as PromptSyntax)) {
    throw new UsageError(`--prompt-syntax must be ${SYNTAXES.join(' or ')}, got ${JSON.stringify(syntax)}`);
  }
  if (parsed.positionals.length !== 1) {
    throw new UsageError(`expected the prompt as one argument (quote it), got ${parsed.positionals.length}`);
  }
  return { model, syntax: syntax as PromptSyntax, text: parsed.positionals[0] as string };
}

/** The shortest decimal that reads back as the same float32 (1.1, not 1.100000023841858). */
function shortestFloat32(value: number): number {
  for (let digits = 1; digits < 9; digits += 1) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}
