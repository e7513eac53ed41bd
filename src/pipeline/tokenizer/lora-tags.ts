// A1111's LoRA tags (extensions-builtin/Lora/extra_networks_lora.py): `<lora:name:te[:unet]>`, or named
// `<lora:name:te=0.5:unet=0.8>`; `<lyco:…>` is the same for LyCORIS files. te defaults to 1, unet to te.
import { PipelineError } from '../errors.js';

/** One LoRA a prompt calls, with its strengths. */
export interface LoraTag {
  readonly name: string;
  /** Multiplier of its text-encoder changes. */
  readonly te: number;
  /** Multiplier of its UNet changes. */
  readonly unet: number;
}

/**
 * The largest strength a tag may give, either sign: far past what LoRAs are trained for (about 1), and past it the
 * picture is noise, so a larger value is a typo (`<lora:x:08>`) rather than a wish.
 */
const MAX_LORA_STRENGTH = 4;

/** A1111's `re_extra_net`, for the two kinds that are LoRAs. */
const LORA_TAG = /<(?:lora|lyco):([^>]+)>/gu;

/**
 * The prompt without its LoRA tags, and the LoRAs they call, in order. Other extra-network tags stay (the prompt
 * reader removes them with a notice).
 * @throws PipelineError `INVALID_REQUEST` (field `prompt`) for a tag without a name or with a strength that is not a
 *   number or is outside ±`MAX_LORA_STRENGTH`, naming the tag.
 */
export function extractLoraTags(prompt: string): { prompt: string; tags: LoraTag[] } {
  const tags = [...prompt.matchAll(LORA_TAG)].map((match) => parseTag(match[0], match[1] ?? ''));
  return { prompt: prompt.replace(LORA_TAG, ''), tags };
}

function parseTag(tag: string, body: string): LoraTag {
  const [name = '', ...params] = body.split(':');
  if (name.trim() === '') fail(tag, 'it names no LoRA');
  const positional: number[] = [];
  const named: Record<string, number> = {};
  for (const param of params) {
    const [key, value] = param.includes('=') ? param.split('=', 2) : [undefined, param];
    const number = Number(value);
    if ((value ?? '').trim() === '' || !Number.isFinite(number)) fail(tag, `${JSON.stringify(param)} is not a number`);
    if (Math.abs(number) > MAX_LORA_STRENGTH) {
      fail(tag, `its strength ${number} is outside −${MAX_LORA_STRENGTH} to ${MAX_LORA_STRENGTH}`);
    }
    if (key === undefined) positional.push(number);
    else named[key.trim()] = number;
  }
  const te = named['te'] ?? positional[0] ?? 1;
  return { name: name.trim(), te, unet: named['unet'] ?? positional[1] ?? te };
}

function fail(tag: string, reason: string): never {
  throw new PipelineError('INVALID_REQUEST', `The LoRA tag ${tag} cannot be read: ${reason}`, { field: 'prompt' });
}
