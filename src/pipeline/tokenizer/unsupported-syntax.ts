// A1111 prompt syntax that dreamcord does not implement, recognised the way A1111 recognises it and removed
// with a notice, so that it never reaches CLIP as text (`<lora:x:1>` would otherwise be encoded as the words
// "lora", "x", "1").

/** The prompt without the unsupported syntax, and one sentence per kind of removal (for the user). */
export interface SyntaxCleanup {
  readonly text: string;
  readonly notices: string[];
}

/** A1111's `re_extra_net` (`<(\w+):([^>]+)>`): LoRA, LyCORIS, hypernetwork… tags. */
const EXTRA_NETWORK = /<[\p{L}\p{N}_]+:[^>]+>/gu;
/** A1111's `re_AND` (`\bAND\b`), with Unicode word boundaries as in Python. */
const AND = /(?<![\p{L}\p{N}_])AND(?![\p{L}\p{N}_])/u;
/** A1111's `re_weight`: a sub-prompt's trailing composable-diffusion weight, `… :0.5`. */
const COMPOSABLE_WEIGHT = /^([\s\S]*?)(?:\s*:\s*([-+]?(?:\d+\.?|\d*\.\d+)))?\s*$/;
/** The `when` of `[from:to:when]` (lark's SIGNED_NUMBER), with the optional spaces A1111's grammar allows. */
const EDIT_STEP = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * Removes, in A1111's order: extra-network tags; `AND` (composable diffusion: the sub-prompts are joined into
 * one prompt) and the sub-prompts' trailing `:weight`; prompt editing `[from:to:when]`, `[to:when]`,
 * `[from::when]` and alternation `[a|b]`, each removed whole.
 */
export function removeUnsupportedSyntax(prompt: string): SyntaxCleanup {
  const notices: string[] = [];
  const tags = prompt.match(EXTRA_NETWORK) ?? [];
  if (tags.length > 0) {
    notices.push(`Removed ${tags.join(', ')}: LoRA, hypernetworks and other extra networks are not supported.`);
  }
  const composed = joinSubPrompts(prompt.replace(EXTRA_NETWORK, ''), notices);
  return { text: removePromptEditing(composed, notices), notices };
}

/** Splits at `AND`, drops each sub-prompt's trailing weight, and joins the sub-prompts with a space. */
function joinSubPrompts(prompt: string, notices: string[]): string {
  const subPrompts = prompt.split(AND);
  if (subPrompts.length > 1) {
    notices.push('Joined the parts around AND into one prompt: composable diffusion (AND) is not supported.');
  }
  const weights: string[] = [];
  const texts = subPrompts.map((subPrompt) => {
    const match = COMPOSABLE_WEIGHT.exec(subPrompt) as RegExpExecArray; // matches every string
    if (match[2] !== undefined) weights.push(`:${match[2]}`);
    return match[1] as string;
  });
  if (weights.length > 0) {
    notices.push(
      `Removed the trailing weight ${weights.map((w) => JSON.stringify(w)).join(', ')}: ` +
        'A1111 reads a prompt that ends in ":number" as a composable-diffusion weight, which is not supported.',
    );
  }
  return texts.join(' ');
}

/** What a square-bracket group with a top-level `:` or `|` means to A1111. */
type EditKind = 'schedule' | 'alternation';

const EDIT_NOTICES: Readonly<Record<EditKind, string>> = {
  schedule: 'prompt editing ([from:to:when]) is not supported',
  alternation: 'alternating words ([a|b]) are not supported',
};

/** Removes every outermost prompt-editing or alternation group. */
function removePromptEditing(prompt: string, notices: string[]): string {
  let kept = '';
  let copiedUpTo = 0;
  for (let i = 0; i < prompt.length; i += 1) {
    if (prompt[i] === '\\') {
      i += 1; // an escaped character is never a bracket
      continue;
    }
    if (prompt[i] !== '[') continue;
    const close = matchingSquareBracket(prompt, i);
    if (close === -1) continue;
    const kind = editKind(prompt.slice(i + 1, close));
    if (kind === undefined) continue; // an emphasis `[x]`: look inside it for nested edits
    notices.push(`Removed ${prompt.slice(i, close + 1)}: ${EDIT_NOTICES[kind]}.`);
    kept += prompt.slice(copiedUpTo, i);
    copiedUpTo = close + 1;
    i = close;
  }
  return kept + prompt.slice(copiedUpTo);
}

/** Index of the `]` closing the `[` at `open` (escapes skipped), or −1 when it is never closed. */
function matchingSquareBracket(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i += 1) {
    const char = text[i];
    if (char === '\\') i += 1;
    else if (char === '[') depth += 1;
    else if (char === ']' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Classifies a square-bracket group's content by its top-level separators (outside nested brackets), as A1111's
 * grammar does: any `|` is alternation; one or two `:` with a number after the last is a schedule
 * (`[to:when]`, `[from:to:when]`); anything else is emphasis.
 */
function editKind(content: string): EditKind | undefined {
  const colons: number[] = [];
  let depth = 0;
  for (let i = 0; i < content.length; i += 1) {
    const char = content[i];
    if (char === '\\') i += 1;
    else if (char === '(' || char === '[') depth += 1;
    else if (char === ')' || char === ']') depth = Math.max(0, depth - 1);
    else if (depth === 0 && char === '|') return 'alternation';
    else if (depth === 0 && char === ':') colons.push(i);
  }
  const lastColon = colons.at(-1);
  if (lastColon === undefined || colons.length > 2) return undefined;
  return EDIT_STEP.test(content.slice(lastColon + 1)) ? 'schedule' : undefined;
}
