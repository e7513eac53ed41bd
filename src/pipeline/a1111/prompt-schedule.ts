// A1111's prompt editing and composable diffusion (modules/prompt_parser.py, v1.10.1): `AND` splits a prompt
// into weighted sub-prompts (`… :1.2`); within each, `[from:to:when]`, `[to:when]`, `[from::when]` switch text
// at a step and `[a|b]` alternates every step. Its lark grammar is parsed here by recursive descent:
//
//   start: (prompt | /[][():]/+)*          (stray brackets and colons are text at the top level only)
//   prompt: (emphasized | scheduled | alternate | plain | WHITESPACE)*
//   emphasized: "(" prompt ")" | "(" prompt ":" prompt ")" | "[" prompt "]"      (kept as text, brackets and all)
//   scheduled: "[" [prompt ":"] prompt ":" [WHITESPACE] NUMBER [WHITESPACE] "]"
//   alternate: "[" prompt ("|" [prompt])+ "]"
//   plain: /([^\\\[\]():|]|\\.)+/
//
// A prompt the grammar rejects (a `|` outside brackets, say) is used whole at every step, as A1111 does.

import { PY_DIGIT, PY_SPACE, pythonFloat } from '../tokenizer/python-regex.js';

/** One piece of a parsed prompt. */
type PromptNode =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'scheduled'; readonly before: PromptNode[]; readonly after: PromptNode[]; readonly when: string }
  | { readonly kind: 'alternate'; readonly options: PromptNode[][] };

/** A text that holds until denoiser call `endAt` (inclusive), A1111's `ScheduledPromptConditioning`. */
export interface ScheduledText {
  readonly endAt: number;
  readonly text: string;
}

/** An `AND` sub-prompt and its weight. */
export interface SubPrompt {
  readonly text: string;
  readonly weight: number;
}

/** A1111's `re_AND` with Python's Unicode word boundaries. */
const AND = /(?<![\p{L}\p{N}_])AND(?![\p{L}\p{N}_])/u;
/** A1111's `re_weight`: a trailing `:number`, with Python's `\s` and (Unicode) `\d`. */
const WEIGHT = new RegExp(
  String.raw`^([\s\S]*?)(?:[${PY_SPACE}]*:[${PY_SPACE}]*([-+]?(?:[${PY_DIGIT}]+\.?|[${PY_DIGIT}]*\.[${PY_DIGIT}]+)))?[${PY_SPACE}]*$`,
  'u',
);
/** lark's SIGNED_NUMBER (ASCII digits: its DIGIT is "0".."9"), with the optional WHITESPACE (Python's `\s+`) around it. */
const NUMBER = new RegExp(String.raw`^[${PY_SPACE}]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)[${PY_SPACE}]*\]`, 'u');
/** `plain` (and WHITESPACE): anything but brackets, `:` and `|`, or an escaped character. */
const PLAIN = /^(?:[^\\[\]():|]|\\[\s\S])+/;

/** `get_multicond_prompt_list`: the sub-prompts around `AND`, each with its trailing weight (default 1). */
export function subPrompts(prompt: string): SubPrompt[] {
  return prompt.split(AND).map((part) => {
    const match = WEIGHT.exec(part) as RegExpExecArray; // matches every string
    return { text: match[1] ?? '', weight: match[2] === undefined ? 1 : pythonFloat(match[2]) };
  });
}

/**
 * `get_learned_conditioning_prompt_schedules` for one prompt: the texts it takes over `steps` denoiser calls
 * (twice the steps for second-order samplers), each with the last call it holds for. For a hires fix's second
 * pass `firstPassCalls` are the first pass's calls (`hires_steps` given): a `when` counts on from the first pass,
 * a fraction from 1 (`[a:b:1.5]` switches halfway through the second pass) and a call count from its calls.
 */
export function promptSchedule(prompt: string, steps: number, firstPassCalls?: number): ScheduledText[] {
  const tree = parseStart(prompt);
  if (tree === undefined) return [{ endAt: steps, text: prompt }];
  const offsets = firstPassCalls === undefined ? { fraction: 0, calls: 0 } : { fraction: 1, calls: firstPassCalls };
  const whenStep = (when: string): number => {
    const value = Number.parseFloat(when);
    return Math.min(steps, Math.trunc(when.includes('.') ? (value - offsets.fraction) * steps : value - offsets.calls));
  };
  return collectSteps(tree, steps, whenStep).map((step) => ({ endAt: step, text: textAt(tree, step, whenStep) }));
}

/** A `when` as the call it ends at (a number with `.` a fraction of the steps, one without a call count). */
type WhenStep = (when: string) => number;

function collectSteps(nodes: readonly PromptNode[], steps: number, whenStep: WhenStep): number[] {
  const found = new Set([steps]);
  const visit = (list: readonly PromptNode[]): void => {
    for (const node of list) {
      if (node.kind === 'scheduled') {
        const step = whenStep(node.when);
        if (step >= 1) found.add(step);
        visit(node.before);
        visit(node.after);
      } else if (node.kind === 'alternate') {
        for (let step = 1; step <= steps; step++) found.add(step);
        node.options.forEach(visit);
      }
    }
  };
  visit(nodes);
  return [...found].sort((a, b) => a - b);
}

function textAt(nodes: readonly PromptNode[], step: number, whenStep: WhenStep): string {
  return nodes
    .map((node) => {
      if (node.kind === 'text') return node.text;
      if (node.kind === 'scheduled') return textAt(step <= whenStep(node.when) ? node.before : node.after, step, whenStep);
      return textAt(node.options[(step - 1) % node.options.length] ?? [], step, whenStep);
    })
    .join('');
}

/** `start`: prompts, with stray brackets and colons as text; undefined when the grammar rejects the text. */
function parseStart(text: string): PromptNode[] | undefined {
  const nodes: PromptNode[] = [];
  let pos = 0;
  while (pos < text.length) {
    const parsed = parsePrompt(text, pos);
    nodes.push(...parsed.nodes);
    pos = parsed.end;
    if (pos >= text.length) break;
    const char = text[pos] ?? '';
    if (!'[]():'.includes(char)) return undefined; // `|` outside brackets
    nodes.push({ kind: 'text', text: char });
    pos += 1;
  }
  return nodes;
}

/** `prompt` from `pos`: as many pieces as parse; stops at a character only an enclosing rule can take. */
function parsePrompt(text: string, start: number): { nodes: PromptNode[]; end: number } {
  const nodes: PromptNode[] = [];
  let pos = start;
  for (;;) {
    const plain = PLAIN.exec(text.slice(pos));
    if (plain) {
      nodes.push({ kind: 'text', text: plain[0] });
      pos += plain[0].length;
      continue;
    }
    const char = text[pos];
    const group = char === '(' ? parseRound(text, pos) : char === '[' ? parseSquare(text, pos) : undefined;
    if (group === undefined) return { nodes, end: pos };
    nodes.push(...group.nodes);
    pos = group.end;
  }
}

/** `"(" prompt ")"` or `"(" prompt ":" prompt ")"`, kept as text with its brackets. */
function parseRound(text: string, open: number): { nodes: PromptNode[]; end: number } | undefined {
  const first = parsePrompt(text, open + 1);
  if (text[first.end] === ')') return { nodes: [literal('('), ...first.nodes, literal(')')], end: first.end + 1 };
  if (text[first.end] !== ':') return undefined;
  const second = parsePrompt(text, first.end + 1);
  if (text[second.end] !== ')') return undefined;
  return { nodes: [literal('('), ...first.nodes, literal(':'), ...second.nodes, literal(')')], end: second.end + 1 };
}

/** A `[` group: emphasis `[x]`, alternation `[a|b|…]` or a schedule `[from:to:when]` / `[to:when]`. */
function parseSquare(text: string, open: number): { nodes: PromptNode[]; end: number } | undefined {
  const first = parsePrompt(text, open + 1);
  const next = text[first.end];
  if (next === ']') return { nodes: [literal('['), ...first.nodes, literal(']')], end: first.end + 1 };
  if (next === '|') {
    const options = [first.nodes];
    let pos = first.end;
    while (text[pos] === '|') {
      const option = parsePrompt(text, pos + 1);
      options.push(option.nodes);
      pos = option.end;
    }
    return text[pos] === ']' ? { nodes: [{ kind: 'alternate', options }], end: pos + 1 } : undefined;
  }
  if (next !== ':') return undefined;
  const whenOnly = NUMBER.exec(text.slice(first.end + 1));
  if (whenOnly) {
    const end = first.end + 1 + whenOnly[0].length;
    return { nodes: [{ kind: 'scheduled', before: [], after: first.nodes, when: whenOnly[1] ?? '' }], end };
  }
  const second = parsePrompt(text, first.end + 1);
  if (text[second.end] !== ':') return undefined;
  const when = NUMBER.exec(text.slice(second.end + 1));
  if (!when) return undefined;
  const end = second.end + 1 + when[0].length;
  return { nodes: [{ kind: 'scheduled', before: first.nodes, after: second.nodes, when: when[1] ?? '' }], end };
}

function literal(text: string): PromptNode {
  return { kind: 'text', text };
}
