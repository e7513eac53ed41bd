// A1111's inpainting settings where diffusers' inpainting runs in A1111's place: a model whose prediction type
// A1111's sampling has no port for draws with diffusers' schedulers, whose inpainting has none of these settings
// (no blur, no masked content, no area cut, no inverted mask, a fully masked conditioning picture). None of them is
// simple to carry over exactly (each changes A1111's masks, init latents or paste-back), so the member is told which
// of theirs did nothing rather than getting a picture that ignores them without a word.
import type { ResolvedInpaint } from '../request.js';

/** How diffusers' inpainting ran a request with A1111's inpainting settings. */
export interface FallbackInpainting {
  /** The model's prediction type, the reason A1111's sampling did not run. */
  readonly predictionType: string;
  /** Whether the UNet is an inpainting one (only it reads "Conditional mask weight", as in A1111). */
  readonly inpaintingModel: boolean;
  /**
   * "Only masked" found no area (its own notice tells it): the whole picture was reworked, so, as in A1111, the
   * mask's blur, mode and masked content had nothing to act on.
   */
  readonly maskDropped: boolean;
}

/**
 * The member's notice naming each of `inpaint`'s settings that diffusers' inpainting did not carry out, by its
 * A1111 infotext name and value; undefined when every one is at what diffusers' inpainting does anyway (A1111's
 * defaults but for `Mask blur`, whose 0 it honours).
 */
export function fallbackInpaintNotice(inpaint: ResolvedInpaint, run: FallbackInpainting): string | undefined {
  const masked = !run.maskDropped;
  const unhonoured = [
    masked && inpaint.maskBlur > 0 && `Mask blur: ${inpaint.maskBlur} (diffusers' inpainting drew with the mask unblurred)`,
    masked && inpaint.invertMask && 'Mask mode: Inpaint not masked (the masked area was repainted)',
    masked && inpaint.maskedContent !== 'original' && `Masked content: ${inpaint.maskedContent} (the area started as diffusers' inpainting starts it)`,
    masked && inpaint.onlyMasked && `Inpaint area: Only masked, Masked area padding: ${inpaint.maskedPadding} (the whole picture was inpainted at the working size)`,
    run.inpaintingModel && inpaint.maskWeight !== 1 && `Conditional mask weight: ${inpaint.maskWeight} (the masked area was hidden from the model fully)`,
  ].filter((item): item is string => typeof item === 'string');
  if (unhonoured.length === 0) return undefined;
  return (
    `This model's prediction type (${run.predictionType}) has no port of AUTOMATIC1111's sampling, so diffusers' inpainting ` +
    `drew the picture, which does not honour: ${unhonoured.join('; ')}.`
  );
}
