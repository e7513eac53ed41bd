import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { END_OF_WORD, type BpeModelData } from './bpe.js';

/** The special token strings a CLIP tokenizer folder names (Hugging Face `special_tokens_map.json`). */
export interface SpecialTokenNames {
  readonly bos: string;
  readonly eos: string;
  /** What fills a sequence after its end: `<|endoftext|>` in SD 1.x, `!` in SD 2.x. */
  readonly pad: string;
  /** Stands for a symbol the vocabulary lacks. */
  readonly unk: string;
}

/** Everything `ClipTokenizer` needs from a model's `tokenizer/` folder. */
export interface TokenizerFiles {
  readonly model: BpeModelData;
  readonly special: SpecialTokenNames;
}

/** CLIP's own names, used for any token a folder does not name. */
const CLIP_SPECIAL_TOKENS: SpecialTokenNames = {
  bos: '<|startoftext|>',
  eos: '<|endoftext|>',
  pad: '<|endoftext|>',
  unk: '<|endoftext|>',
};

/**
 * Reads a Hugging Face CLIP tokenizer folder: `vocab.json` + `merges.txt` (what diffusers and optimum exports
 * ship), or `tokenizer.json` when a model ships only the fast tokenizer's file; special tokens from
 * `special_tokens_map.json`, else `tokenizer_config.json`, else CLIP's defaults.
 */
export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  const [vocabText, mergesText] = await Promise.all([
    readOptional(join(dir, 'vocab.json')),
    readOptional(join(dir, 'merges.txt')),
  ]);
  let model: BpeModelData;
  if (vocabText !== undefined && mergesText !== undefined) {
    model = {
      vocab: parseVocab(parseJson(vocabText, join(dir, 'vocab.json')), join(dir, 'vocab.json')),
      merges: parseMergesText(mergesText, join(dir, 'merges.txt')),
    };
  } else {
    const fastPath = join(dir, 'tokenizer.json');
    const fastText = await readOptional(fastPath);
    if (fastText === undefined) {
      throw new Error(`${dir} holds no CLIP tokenizer: expected vocab.json and merges.txt, or tokenizer.json`);
    }
    model = parseFastTokenizer(parseJson(fastText, fastPath), fastPath);
  }
  return { model, special: await readSpecialTokens(dir) };
}

/** The file's text, or undefined when it does not exist. */
async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{"token": id, …}` → map, checking every id is a non-negative integer. */
function parseVocab(json: unknown, where: string): Map<string, number> {
  if (!isRecord(json)) throw new Error(`${where}: the vocabulary must be an object of token → id`);
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(json)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new Error(`${where}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, not an integer ≥ 0`);
    }
    vocab.set(token, id);
  }
  return vocab;
}

/** `merges.txt`: an optional `#version` line, then one `first second` rule per line. */
function parseMergesText(text: string, path: string): [string, string][] {
  const merges: [string, string][] = [];
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line === '' || (index === 0 && line.startsWith('#version'))) return;
    merges.push(parseMergeRule(line, `${path} line ${index + 1}`));
  });
  return merges;
}

function parseMergeRule(rule: string, where: string): [string, string] {
  const parts = rule.split(' ');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw new Error(`${where}: expected "first second", got ${JSON.stringify(rule)}`);
  }
  return [parts[0] as string, parts[1] as string];
}

/**
 * The `model` of a fast-tokenizer `tokenizer.json`. Merges are `"a b"` strings (tokenizers < 0.20) or
 * `["a", "b"]` pairs (newer). Added tokens (the special ones) join the vocabulary.
 */
function parseFastTokenizer(json: unknown, path: string): BpeModelData {
  const model = isRecord(json) ? json.model : undefined;
  if (!isRecord(model) || model.type !== 'BPE') throw new Error(`${path}: model.type must be "BPE"`);
  if (model.end_of_word_suffix !== END_OF_WORD) {
    throw new Error(`${path}: model.end_of_word_suffix is ${JSON.stringify(model.end_of_word_suffix)}, ` +
      `not "${END_OF_WORD}": this is not a CLIP tokenizer`);
  }
  const vocab = parseVocab(model.vocab, `${path} model.vocab`);
  if (!Array.isArray(model.merges)) throw new Error(`${path}: model.merges must be an array`);
  const merges = model.merges.map((rule: unknown, index) => {
    const where = `${path} model.merges[${index}]`;
    if (typeof rule === 'string') return parseMergeRule(rule, where);
    if (Array.isArray(rule) && rule.length === 2 && rule.every((part) => typeof part === 'string')) {
      return [rule[0], rule[1]] as [string, string];
    }
    throw new Error(`${where}: expected "a b" or ["a", "b"], got ${JSON.stringify(rule)}`);
  });
  const added = isRecord(json) && Array.isArray(json.added_tokens) ? json.added_tokens : [];
  for (const token of added) {
    if (isRecord(token) && typeof token.content === 'string' && typeof token.id === 'number') {
      vocab.set(token.content, token.id);
    }
  }
  return { vocab, merges };
}

/** Special token names from `special_tokens_map.json`, else `tokenizer_config.json`, else CLIP's. */
async function readSpecialTokens(dir: string): Promise<SpecialTokenNames> {
  for (const file of ['special_tokens_map.json', 'tokenizer_config.json']) {
    const path = join(dir, file);
    const text = await readOptional(path);
    if (text === undefined) continue;
    const json = parseJson(text, path);
    if (!isRecord(json)) throw new Error(`${path} must hold a JSON object`);
    return {
      bos: tokenName(json.bos_token, CLIP_SPECIAL_TOKENS.bos, `${path} bos_token`),
      eos: tokenName(json.eos_token, CLIP_SPECIAL_TOKENS.eos, `${path} eos_token`),
      pad: tokenName(json.pad_token, CLIP_SPECIAL_TOKENS.pad, `${path} pad_token`),
      unk: tokenName(json.unk_token, CLIP_SPECIAL_TOKENS.unk, `${path} unk_token`),
    };
  }
  return CLIP_SPECIAL_TOKENS;
}

/** A token entry is a string or an `AddedToken` object `{"content": …}`; absent or null takes the default. */
function tokenName(value: unknown, fallback: string, where: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.content === 'string') return value.content;
  throw new Error(`${where} must be a string or {"content": string}, got ${JSON.stringify(value)}`);
}
