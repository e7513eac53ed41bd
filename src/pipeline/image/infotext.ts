/** The generation parameters written into (and read back from) an A1111 infotext. */
export interface InfotextParams {
  /** The prompt as the member wrote it; may span lines. Whitespace around each line is not kept (A1111 strips it). */
  readonly prompt: string;
  /** Left out of the text when absent or empty. */
  readonly negativePrompt?: string;
  readonly steps: number;
  /** A1111's sampler label, e.g. `DPM++ 2M`, `Euler a`. */
  readonly sampler: string;
  /** A1111's separate schedule label, e.g. `Karras`; left out when absent. */
  readonly scheduleType?: string;
  readonly cfgScale: number;
  /** Read back as a bigint, whatever was written. */
  readonly seed: bigint | number;
  readonly width: number;
  readonly height: number;
  /** The checkpoint's name (`Model`). */
  readonly model: string;
  /** A1111's short hash of the checkpoint (`Model hash`, 10 hex digits). */
  readonly modelHash?: string;
  /** A1111's `Variation seed` (this picture's) and `Variation seed strength`, written together when given. */
  readonly variationSeed?: bigint | number;
  readonly variationStrength?: number;
  /** img2img and inpaint strength in (0, 1]. */
  readonly denoisingStrength?: number;
  /** Written only when ≥ 2, as A1111 does (1 is the default). */
  readonly clipSkip?: number;
  /** A1111's eta noise seed delta (`ENSD`), written when given (A1111 writes it for samplers that use it). */
  readonly ensd?: number;
  /** The noise source; `GPU` (the default) is left out of the text, so it reads back as absent. */
  readonly rng?: 'GPU' | 'CPU';
  /** The inpaint mask blur in pixels (`Mask blur`). */
  readonly maskBlur?: number;
  /** A1111's `Mask mode` (`Inpaint not masked`; A1111 leaves out its default, `Inpaint masked`). */
  readonly maskMode?: string;
  /** A1111's `Inpaint area` (`Only masked`; A1111 leaves out its default, `Whole picture`). */
  readonly inpaintArea?: string;
  /** A1111's `Masked area padding` ("Only masked padding, pixels"), written with `Inpaint area: Only masked`. */
  readonly maskedAreaPadding?: number;
  /** A1111's `Masked content` (`fill`, `latent noise`, `latent nothing`; A1111 leaves out its default, `original`). */
  readonly maskedContent?: string;
  /** A1111's `Conditional mask weight` (`inpainting_mask_weight`), written for inpainting models. */
  readonly conditionalMaskWeight?: number;
  /** A1111's emphasis mode (`Emphasis`: `No norm`, `None`); absent means A1111's default, `Original`. */
  readonly emphasis?: string;
  /** The shape of A1111's Beta schedule (`Beta schedule alpha`, `Beta schedule beta`), written when it ran. */
  readonly betaSchedule?: { readonly alpha: number; readonly beta: number };
  /**
   * Further `Key: value` pairs, e.g. `Dreamcord job`, `Source job`, `Mask source`, written in insertion order
   * after the standard keys and before `Version`. Keys must look like A1111 keys (a word character, then word
   * characters, spaces, `-` or `/`) and must not repeat a standard key.
   */
  readonly extra?: Readonly<Record<string, string>>;
  /** The writer's version, e.g. `dreamcord 0.1.0`; always last. */
  readonly version: string;
}

/** What {@link parseInfotext} returns: the same fields, the seed as a bigint. */
export type ParsedInfotext = Omit<InfotextParams, 'seed'> & { readonly seed: bigint };

/** An infotext could not be read: the parameters line is missing, or a required value is absent or invalid. */
export class InfotextError extends Error {
  override readonly name = 'InfotextError';
}

const NEGATIVE_PREFIX = 'Negative prompt:';

/** A1111's `re_param`: one `Key: value` pair, the value either a JSON string or running to the next comma. */
const PAIR = /\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;
const KEY = /^\w[\w \-/]+$/;

/**
 * The keys with a field of their own, in A1111's order (`create_infotext`: `Denoising strength` and `Clip skip`
 * after the model, `RNG` and then the `extra_generation_params` such as `Mask blur` near the end; `Version`,
 * always last, is handled apart). `Size` stands for width and height together.
 */
const STANDARD_KEYS = [
  'Steps',
  'Sampler',
  'Schedule type',
  'CFG scale',
  'Seed',
  'Size',
  'Model hash',
  'Model',
  'Variation seed',
  'Variation seed strength',
  'Denoising strength',
  'Conditional mask weight',
  'Clip skip',
  'ENSD',
  'RNG',
  'Mask mode',
  'Mask blur',
  'Inpaint area',
  'Masked area padding',
  'Masked content',
  'Emphasis',
  'Beta schedule alpha',
  'Beta schedule beta',
] as const;

type StandardKey = (typeof STANDARD_KEYS)[number];

/**
 * The A1111 infotext for a generation, as stored in the PNG `parameters` chunk:
 * ```
 * <prompt>
 * Negative prompt: <negative prompt>        (only when not empty)
 * Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1, Size: 512x768, Model: …, Version: …
 * ```
 * Values that contain `,`, `:` or a newline are written as JSON strings (A1111's `quote`); so are values with
 * surrounding spaces or a leading `"`, which A1111 would write ambiguously and its reader unquotes just the same.
 */
export function formatInfotext(params: InfotextParams): string {
  const pairs = [...standardValues(params), ...extraPairs(params.extra), ['Version', params.version] as const];
  const parameters = pairs.map(([key, value]) => `${key}: ${quote(value)}`).join(', ');
  const negative = params.negativePrompt ? `\n${NEGATIVE_PREFIX} ${params.negativePrompt}` : '';
  return `${params.prompt}${negative}\n${parameters}`.trim();
}

/**
 * Reads an A1111 infotext back (A1111's `parse_generation_parameters`): the last line holds the parameters when
 * it has at least three `Key: value` pairs; the lines before are the prompt, then from `Negative prompt:` on
 * the negative prompt, each line trimmed. Keys this type does not name go to `extra`.
 *
 * @throws {InfotextError} without a parameters line, or when `Steps`, `Sampler`, `CFG scale`, `Seed`, `Size`,
 *   `Model` or `Version` is missing or a number does not parse.
 */
export function parseInfotext(text: string): ParsedInfotext {
  const lines = text.trim().split('\n');
  const pairs = [...(lines.at(-1) ?? '').matchAll(PAIR)].map((m) => [m[1]!, unquote(m[2]!)] as const);
  if (pairs.length < 3) throw new InfotextError('the text has no parameters line (Steps: …, Sampler: …, …)');
  const values = new Map(pairs);
  const { prompt, negativePrompt } = splitPrompts(lines.slice(0, -1));
  const extra = pairs.filter(([key]) => !isReservedKey(key));
  const [width, height] = parseSize(required(values, 'Size'));
  return {
    prompt,
    ...(negativePrompt !== '' ? { negativePrompt } : {}),
    steps: integer('Steps', required(values, 'Steps')),
    sampler: required(values, 'Sampler'),
    ...optional(values, 'Schedule type', (v) => ({ scheduleType: v })),
    cfgScale: decimal('CFG scale', required(values, 'CFG scale')),
    seed: parseSeed(required(values, 'Seed')),
    width,
    height,
    model: required(values, 'Model'),
    ...optional(values, 'Model hash', (v) => ({ modelHash: v })),
    ...optional(values, 'Variation seed', (v) => ({ variationSeed: parseSeed(v) })),
    ...optional(values, 'Variation seed strength', (v) => ({ variationStrength: decimal('Variation seed strength', v) })),
    ...optional(values, 'Denoising strength', (v) => ({ denoisingStrength: decimal('Denoising strength', v) })),
    ...optional(values, 'Clip skip', (v) => ({ clipSkip: integer('Clip skip', v) })),
    ...optional(values, 'RNG', (v) => ({ rng: rngSource(v) })),
    ...optional(values, 'ENSD', (v) => ({ ensd: integer('ENSD', v) })),
    ...optional(values, 'Mask blur', (v) => ({ maskBlur: decimal('Mask blur', v) })),
    ...optional(values, 'Mask mode', (v) => ({ maskMode: v })),
    ...optional(values, 'Inpaint area', (v) => ({ inpaintArea: v })),
    ...optional(values, 'Masked area padding', (v) => ({ maskedAreaPadding: decimal('Masked area padding', v) })),
    ...optional(values, 'Masked content', (v) => ({ maskedContent: v })),
    ...optional(values, 'Conditional mask weight', (v) => ({ conditionalMaskWeight: decimal('Conditional mask weight', v) })),
    ...optional(values, 'Emphasis', (v) => ({ emphasis: v })),
    ...optional(values, 'Beta schedule alpha', (alpha) => ({
      betaSchedule: { alpha: decimal('Beta schedule alpha', alpha), beta: decimal('Beta schedule beta', required(values, 'Beta schedule beta')) },
    })),
    ...(extra.length > 0 ? { extra: Object.fromEntries(extra) } : {}),
    version: required(values, 'Version'),
  };
}

/** The standard pairs present in `params`, in A1111's order. */
function standardValues(params: InfotextParams): (readonly [StandardKey, string])[] {
  const values: Record<StandardKey, string | undefined> = {
    Steps: String(params.steps),
    Sampler: params.sampler,
    'Schedule type': params.scheduleType,
    'CFG scale': String(params.cfgScale),
    Seed: String(params.seed),
    Size: `${params.width}x${params.height}`,
    'Model hash': params.modelHash,
    Model: params.model,
    'Variation seed': params.variationStrength ? params.variationSeed?.toString() : undefined,
    'Variation seed strength': params.variationStrength ? String(params.variationStrength) : undefined,
    'Denoising strength': params.denoisingStrength?.toString(),
    // A1111 writes the option's float as Python does (`1.0`).
    'Conditional mask weight': params.conditionalMaskWeight === undefined ? undefined : pythonFloat(params.conditionalMaskWeight),
    'Clip skip': params.clipSkip !== undefined && params.clipSkip > 1 ? String(params.clipSkip) : undefined,
    ENSD: params.ensd?.toString(),
    RNG: params.rng === 'CPU' ? 'CPU' : undefined,
    'Mask mode': params.maskMode,
    'Mask blur': params.maskBlur?.toString(),
    'Inpaint area': params.inpaintArea,
    'Masked area padding': params.maskedAreaPadding?.toString(),
    'Masked content': params.maskedContent,
    Emphasis: params.emphasis,
    'Beta schedule alpha': params.betaSchedule?.alpha.toString(),
    'Beta schedule beta': params.betaSchedule?.beta.toString(),
  };
  return STANDARD_KEYS.flatMap((key) => {
    const value = values[key];
    return value === undefined ? [] : [[key, value] as const];
  });
}

/** Python's `str()` of a float: a whole number keeps its `.0`. */
export function pythonFloat(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

function extraPairs(extra: InfotextParams['extra']): (readonly [string, string])[] {
  return Object.entries(extra ?? {}).map(([key, value]) => {
    if (!KEY.test(key)) throw new RangeError(`infotext key "${key}" is not a valid A1111 key`);
    if (isReservedKey(key)) {
      throw new RangeError(`infotext key "${key}" is a standard key; set its field instead`);
    }
    return [key, value] as const;
  });
}

/** A1111's `quote`, plus quoting of values its reader would otherwise not return unchanged. */
function quote(value: string): string {
  const ambiguous = /[,:\n]/.test(value) || value !== value.trim() || value.startsWith('"');
  return ambiguous ? JSON.stringify(value) : value;
}

/** A1111's `unquote`: a value in double quotes is a JSON string. */
function unquote(value: string): string {
  if (!(value.length >= 2 && value.startsWith('"') && value.endsWith('"'))) return value;
  try {
    return JSON.parse(value) as string;
  } catch (error) {
    throw new InfotextError(`the value ${value} is not a valid JSON string`, { cause: error });
  }
}

/**
 * A1111's prompt split: lines from the first `Negative prompt:` on are the negative prompt (that prefix removed
 * from any line), each line trimmed; leading empty lines of either part are dropped.
 */
function splitPrompts(lines: readonly string[]): { prompt: string; negativePrompt: string } {
  let prompt = '';
  let negativePrompt = '';
  let inNegative = false;
  for (const raw of lines) {
    let line = raw.trim();
    if (line.startsWith(NEGATIVE_PREFIX)) {
      inNegative = true;
      line = line.slice(NEGATIVE_PREFIX.length).trim();
    }
    if (inNegative) negativePrompt = appendLine(negativePrompt, line);
    else prompt = appendLine(prompt, line);
  }
  return { prompt, negativePrompt };
}

function appendLine(text: string, line: string): string {
  return text === '' ? line : `${text}\n${line}`;
}

/** Keys with a field of their own, which `extra` may not use. */
function isReservedKey(key: string): boolean {
  return key === 'Version' || (STANDARD_KEYS as readonly string[]).includes(key);
}

function required(values: ReadonlyMap<string, string>, key: string): string {
  const value = values.get(key);
  if (value === undefined) throw new InfotextError(`the parameters have no ${key}`);
  return value;
}

function optional<T>(values: ReadonlyMap<string, string>, key: string, read: (value: string) => T): T | undefined {
  const value = values.get(key);
  return value === undefined ? undefined : read(value);
}

function integer(key: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new InfotextError(`${key} must be a whole number, got "${value}"`);
  return Number(value);
}

function decimal(key: string, value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) {
    throw new InfotextError(`${key} must be a number, got "${value}"`);
  }
  return number;
}

function parseSeed(value: string): bigint {
  if (!/^-?\d+$/.test(value)) throw new InfotextError(`Seed must be a whole number, got "${value}"`);
  return BigInt(value);
}

function parseSize(value: string): [number, number] {
  const match = /^(\d+)x(\d+)$/.exec(value);
  if (match === null) throw new InfotextError(`Size must be WIDTHxHEIGHT, got "${value}"`);
  return [Number(match[1]), Number(match[2])];
}

/** A1111's `NV` source is its CPU emulation of the CUDA generator, the same noise as `GPU`. */
function rngSource(value: string): 'GPU' | 'CPU' {
  if (value === 'NV') return 'GPU';
  if (value !== 'GPU' && value !== 'CPU') throw new InfotextError(`RNG must be GPU, CPU or NV, got "${value}"`);
  return value;
}
