// A1111 mode where diffusers' pipeline runs in A1111's place: a model whose prediction type A1111's sampling has no
// port for draws with diffusers' schedulers, which have none of A1111's noise multiplier, extra noise, variation
// seeds or schedule types (the scheduler is made from the sampler id), whose hires pass runs the first pass's
// scheduler and prompts, and whose inpainting has none of A1111's inpainting settings (no blur, no masked content,
// no area cut, no inverted mask, a fully masked conditioning picture). None of them is simple to carry over exactly
// (each changes A1111's noise, schedule, conditioning, masks, init latents or paste-back), so the member is told
// which of theirs did nothing rather than getting a picture that ignores them without a word, and the request
// returned (whose infotext is written) holds what ran.
import { DEFAULT_MASK_BLUR, inheritedHiresSchedule, type ResolvedInpaint, type ResolvedRequest } from '../request.js';
import { samplerLabel } from '../schedulers/index.js';
import { EXTRA_NOISE, NOISE_MULTIPLIER } from './infotext-fields.js';

/** How diffusers' pipeline ran a request of A1111 mode. */
export interface DiffusersFallback {
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
 * `request` as diffusers' schedulers run it: A1111's noise multiplier, extra noise, ENSD and variation strength at
 * the values that do nothing (1, 0, 0, 0: the batch's noise is drawn from its seeds alone), the schedule type
 * `Automatic` where the sampler id names none (it runs the id's own schedule), and the hires pass with the first
 * pass's sampler, prompts and the schedule type that inherits. ENSD is never named to the member: the samplers it
 * acts on (A1111's ancestral ones) have no diffusers scheduler that takes a model of this prediction type, so it
 * does nothing here as in A1111 with any other sampler.
 */
export function asDiffusersRuns(request: ResolvedRequest): ResolvedRequest {
  const noNoiseSettings = { noiseMultiplier: 1, extraNoise: 0, ensd: 0, variationStrength: 0, variationSeed: undefined };
  // A sampler id that names its schedule (`dpmpp_2m_karras`) runs it: its schedule type is only ever that one.
  const scheduleType = samplerLabel(request.sampler).schedule === null ? 'Automatic' : request.scheduleType;
  const first = { ...request, ...noNoiseSettings, scheduleType };
  const { hires, sampler, prompt, negativePrompt } = first;
  if (!hires) return first;
  const inherited = inheritedHiresSchedule(sampler, { ...first, a1111Sampling: true });
  return { ...first, hires: { ...hires, sampler, prompt, negativePrompt, scheduleType: inherited } };
}

/**
 * The member's notice naming each setting of `asked` that diffusers' pipeline did not carry out (`ran` is
 * {@link asDiffusersRuns} of it), by its A1111 infotext name and value; undefined when every one is at what
 * diffusers' pipeline does anyway.
 */
export function diffusersFallbackNotice(asked: ResolvedRequest, ran: ResolvedRequest, run: DiffusersFallback): string | undefined {
  const unhonoured = [...unhonouredSampling(asked, ran), ...(asked.inpaint ? unhonouredInpainting(asked.inpaint, run) : [])];
  if (unhonoured.length === 0) return undefined;
  const pipeline = asked.kind === 'inpaint' ? 'inpainting' : asked.kind;
  return (
    `This model's prediction type (${run.predictionType}) has no port of AUTOMATIC1111's sampling, so diffusers' ${pipeline} ` +
    `drew the picture, which does not honour: ${unhonoured.join('; ')}.`
  );
}

/** A1111's sampling settings of `asked` that diffusers' schedulers left at another value (`ran`'s). */
function unhonouredSampling(asked: ResolvedRequest, ran: ResolvedRequest): string[] {
  return [
    asked.noiseMultiplier !== ran.noiseMultiplier && `${NOISE_MULTIPLIER}: ${asked.noiseMultiplier} (the first noise draw was used as drawn)`,
    asked.extraNoise !== ran.extraNoise && `${EXTRA_NOISE}: ${asked.extraNoise} (the noised latents got no more noise)`,
    asked.variationStrength !== ran.variationStrength &&
      `Variation seed: ${asked.variationSeed ?? ''}, Variation seed strength: ${asked.variationStrength} (the pictures were drawn from their seeds alone)`,
    asked.scheduleType !== ran.scheduleType && `Schedule type: ${asked.scheduleType} (the sampler ran its own schedule)`,
    asked.hires?.sampler !== ran.hires?.sampler &&
      `Hires sampler: ${asked.hires ? samplerLabel(asked.hires.sampler).name : ''} (the hires pass ran the first pass's sampler)`,
    asked.hires?.scheduleType !== ran.hires?.scheduleType &&
      `Hires schedule type: ${asked.hires?.scheduleType ?? ''} (the hires pass ran the first pass's scheduler)`,
    asked.hires?.prompt !== ran.hires?.prompt && `Hires prompt: ${asked.hires?.prompt ?? ''} (the hires pass ran the first pass's prompt)`,
    asked.hires?.negativePrompt !== ran.hires?.negativePrompt &&
      `Hires negative prompt: ${asked.hires?.negativePrompt ?? ''} (the hires pass ran the first pass's negative prompt)`,
  ].filter((item): item is string => typeof item === 'string');
}

/**
 * `inpaint`'s settings that diffusers' inpainting did not carry out; those at what it does anyway (A1111's defaults,
 * and a `Mask blur` of 0) or at the default every request gets (`Mask blur` 4) are not named.
 */
function unhonouredInpainting(inpaint: ResolvedInpaint, run: DiffusersFallback): string[] {
  const masked = !run.maskDropped;
  const blurred = inpaint.maskBlur !== 0 && inpaint.maskBlur !== DEFAULT_MASK_BLUR;
  return [
    masked && blurred && `Mask blur: ${inpaint.maskBlur} (diffusers' inpainting drew with the mask unblurred)`,
    masked && inpaint.invertMask && 'Mask mode: Inpaint not masked (the masked area was repainted)',
    masked && inpaint.maskedContent !== 'original' && `Masked content: ${inpaint.maskedContent} (the area started as diffusers' inpainting starts it)`,
    masked && inpaint.onlyMasked && `Inpaint area: Only masked, Masked area padding: ${inpaint.maskedPadding} (the whole picture was inpainted at the working size)`,
    run.inpaintingModel && inpaint.maskWeight !== 1 && `Conditional mask weight: ${inpaint.maskWeight} (the masked area was hidden from the model fully)`,
  ].filter((item): item is string => typeof item === 'string');
}
