import type { GuildSettings } from '../settings/keys.js';
import type { RequestBuilder } from './admit.js';
import { buildGenerationRequest, type RequestDefaults } from './build-request.js';
import type { PreparedInputs } from '../inputs/image-inputs.js';

/**
 * The request of Zoom out and Pan: an inpaint of the canvas the picture was put on (`ImageInputs.forOutpaint`),
 * its new area masked, with the picture's prompt and model and the server's defaults — at the canvas's own size, which
 * fits the server's pixel limit, so the picture's pixels come back exactly outside the blended seam.
 */
export function outpaintRequest(inputs: PreparedInputs, defaults: RequestDefaults): RequestBuilder {
  return (settings: GuildSettings, overridden) => {
    const { width, height } = inputs.stored;
    const built = buildGenerationRequest('inpaint', { prompt: inputs.prompt, model: inputs.model, width, height }, settings, defaults, overridden);
    if (!built.ok) return built;
    const { request, notices } = built;
    return {
      ok: true,
      notices: [...(inputs.notices ?? []), ...notices],
      request: { ...request, source: inputs.source, ...(inputs.mask ? { mask: inputs.mask } : {}) },
    };
  };
}
