import { BytePairEncoder, END_OF_WORD } from './bpe.js';
import { fromByteLevel, toByteLevel } from './byte-level.js';
import { readTokenizerFiles, type TokenizerFiles } from './tokenizer-files.js';

/** Tokens the CLIP text encoder reads at once: BOS, 75 text tokens, EOS. */
export const CONTEXT_LENGTH = 77;
/** Text tokens in one context window, between BOS and EOS. */
export const CHUNK_LENGTH = CONTEXT_LENGTH - 2;

/**
 * Which special token strings typed in a prompt become their special id instead of text:
 * - `all`: every special token the tokenizer folder names, as Hugging Face's tokenizers (and so diffusers) do.
 *   With SD 2.x's pad token `!`, every `!` in a prompt becomes the pad id 0.
 * - `boundaries`: only `<|startoftext|>` and `<|endoftext|>`, as CLIP's own tokenizer (used by A1111 for
 *   SD 2.x) does; `!` stays the word `!`.
 */
export type SpecialTokenMatching = 'all' | 'boundaries';

/**
 * CLIP's pre-tokenization (after special tokens are split off): contractions, runs of letters, single digits,
 * runs of other non-space characters. `\p{White_Space}` rather than `\s`, because the Rust regex of the fast
 * tokenizer means Unicode White_Space (which includes U+0085 and excludes U+FEFF, unlike JavaScript's `\s`).
 */
const WORD = /'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/gu;
const WHITESPACE_RUN = /\p{White_Space}+/gu;
const WORD_END_SPACE = toByteLevel(' ');

/**
 * CLIP's byte-level BPE tokenizer, matching Hugging Face's `CLIPTokenizerFast` (what diffusers uses): NFC,
 * whitespace runs → one space, lower case; no ftfy or HTML unescaping (`&amp;` stays three tokens).
 */
export class ClipTokenizer {
  /** `<|startoftext|>`, 49406 in CLIP. */
  readonly bosId: number;
  /** `<|endoftext|>`, 49407 in CLIP. */
  readonly eosId: number;
  /** What fills a window after EOS: 49407 (`<|endoftext|>`) in SD 1.x, 0 (`!`) in SD 2.x. */
  readonly padId: number;

  private readonly bpe: BytePairEncoder;
  private readonly vocab: ReadonlyMap<string, number>;
  /** Id → token string, for decoding. */
  private readonly tokens: string[] = [];
  private readonly specials: Readonly<Record<SpecialTokenMatching, SpecialTokenSplitter>>;

  /** Builds a tokenizer from parsed files; `load` reads them from a folder. */
  constructor(files: TokenizerFiles) {
    this.vocab = files.model.vocab;
    for (const [token, id] of this.vocab) this.tokens[id] = token;
    const { bos, eos, pad, unk } = files.special;
    this.bosId = this.requireId(bos, 'bos');
    this.eosId = this.requireId(eos, 'eos');
    this.padId = this.requireId(pad, 'pad');
    this.bpe = new BytePairEncoder(files.model, this.requireId(unk, 'unk'));
    this.specials = {
      all: new SpecialTokenSplitter([bos, eos, pad, unk], this.vocab),
      boundaries: new SpecialTokenSplitter([bos, eos], this.vocab),
    };
  }

  /** Reads a model's `tokenizer/` folder (`vocab.json` + `merges.txt`, or `tokenizer.json`). */
  static async load(dir: string): Promise<ClipTokenizer> {
    const files = await readTokenizerFiles(dir);
    try {
      return new ClipTokenizer(files);
    } catch (error) {
      throw new Error(`${dir}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * The ids of `text`, without BOS/EOS and without any length limit.
   * @param specialTokens which typed special token strings become special ids (default `all`, diffusers')
   */
  encode(text: string, specialTokens: SpecialTokenMatching = 'all'): number[] {
    const ids: number[] = [];
    const splitter = this.specials[specialTokens];
    for (const piece of splitter.split(normalize(text))) {
      const specialId = splitter.idOf(piece);
      if (specialId !== undefined) {
        ids.push(specialId);
        continue;
      }
      for (const match of piece.matchAll(WORD)) ids.push(...this.bpe.encodeWord(match[0]));
    }
    return ids;
  }

  /** The text that `ids` stand for (lower-cased, normalized), words separated by single spaces. */
  decode(ids: Iterable<number>): string {
    let symbols = '';
    for (const id of ids) symbols += this.tokens[id] ?? '';
    // A word end is a space; written as the byte-level space so it survives the byte decoding.
    return fromByteLevel(symbols.replaceAll(END_OF_WORD, WORD_END_SPACE)).trim();
  }

  /** The id of one vocabulary entry, e.g. `",</w>"` (a comma ending a word); undefined if absent. */
  tokenId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  private requireId(token: string, role: string): number {
    const id = this.vocab.get(token);
    if (id === undefined) throw new Error(`the ${role} token ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }
}

/** The fast tokenizer's normalizer: NFC, each whitespace run → one space, lower case. */
function normalize(text: string): string {
  return lowerCase(text.normalize('NFC').replace(WHITESPACE_RUN, ' '));
}

/**
 * Lower-cases like Hugging Face tokenizers, character by character: a word-final capital sigma becomes σ, not
 * the ς that `String#toLowerCase` picks from context. Other characters have no context rules.
 */
function lowerCase(text: string): string {
  return text.includes('Σ') ? Array.from(text, (char) => char.toLowerCase()).join('') : text.toLowerCase();
}

/** Splits special token strings off a normalized text, longest first, as the tokenizers' added-token trie does. */
class SpecialTokenSplitter {
  private readonly ids = new Map<string, number>();
  private readonly pattern: RegExp;

  constructor(tokens: readonly string[], vocab: ReadonlyMap<string, number>) {
    for (const token of tokens) {
      const id = vocab.get(token);
      if (id !== undefined) this.ids.set(token, id);
    }
    const alternatives = [...this.ids.keys()]
      .sort((a, b) => b.length - a.length)
      .map((token) => token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    // The capture group keeps the special tokens in `split`'s output, between the text pieces.
    this.pattern = new RegExp(`(${alternatives.join('|')})`, 'u');
  }

  /** Text pieces and special token strings, in order (pieces may be empty). */
  split(text: string): string[] {
    return text.split(this.pattern);
  }

  /** The id of a piece that is a special token string; undefined for text. */
  idOf(piece: string): number | undefined {
    return this.ids.get(piece);
  }
}
