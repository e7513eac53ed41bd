import type { GuildSettings } from '../settings/keys.js';
import type { RequestBuilder } from './admit.js';
import { buildGenerationRequest, type GenerationOptions, type RequestDefaults } from './build-request.js';
import type { PreparedInputs } from '../inputs/image-inputs.js';
import { workingSizeOf } from '../generator/working-size.js';
import { refusalOf } from '../refusal.js';
import { chooseModel } from './model-choice.js';

/**
 * The request of `/variation`, `/inpaint` or 🔀 Variations: the member's options checked like `/imagine`'s against
 * the server's settings, at the working size of the stored source picture (within the server's pixel limit), with
 * the source and, to inpaint, the mask. A variation of a job takes that job's prompt when the member gives none, and
 * that job's model.
 */
export function imageRequest(
  kind: 'img2img' | 'inpaint',
  options: GenerationOptions,
  inputs: PreparedInputs,
  defaults: RequestDefaults,
): RequestBuilder {
  return (settings: GuildSettings, overridden) => {
    const model = options.model ?? inputs.model;
    let nativeSize: number;
    try {
      nativeSize = chooseModel(model, settings.model, defaults.models()).nativeSize;
    } catch (error) {
      return refusalOf(error);
    }
    const planned = workingSizeOf(inputs.stored, { nativeSize, maxPixels: settings.maxPixels });
    if (!planned.ok) return planned;
    const { width, height } = planned.plan;
    const prompt = options.prompt ?? inputs.prompt;
    const built = buildGenerationRequest(kind, { ...options, prompt, model, width, height }, settings, defaults, overridden);
    if (!built.ok) return built;
    const { request, notices } = built;
    return { ok: true, notices, request: { ...request, source: inputs.source, ...(inputs.mask ? { mask: inputs.mask } : {}) } };
  };
}
