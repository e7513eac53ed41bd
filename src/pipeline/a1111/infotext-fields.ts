// How a request is named in A1111's infotext so that A1111, reading it back (`parse_generation_parameters`,
// `get_sampler_and_scheduler`), selects the same sampler, schedule and settings.
import type { ResolvedParameters } from '../request.js';
import { pythonFloat } from '../image/infotext.js';
import { samplerLabel } from '../schedulers/index.js';
import type { Emphasis } from '../tokenizer/index.js';
import { kSamplerFor } from './k-samplers.js';
import { a1111SamplerOf, scheduledCalls, type A1111Sampler } from './samplers.js';
import { promptSchedule, subPrompts } from './prompt-schedule.js';
import { resolvedSchedule } from './sampler-sigmas.js';
import { BETA_SCHEDULE_SHAPE } from './schedule-types.js';

/** The settings the A1111 fields depend on; absent ones take the request defaults. */
export type InfotextSettings = Pick<ResolvedParameters, 'kind' | 'sampler' | 'steps' | 'prompt' | 'negativePrompt' | 'promptSyntax'> &
  Partial<Pick<ResolvedParameters, 'compat' | 'scheduleType' | 'emphasis' | 'ensd'>> & { readonly hires?: unknown };

/** A1111's `Sampler`, `Schedule type`, `Emphasis`, `ENSD` and Beta schedule values for a request. */
export interface A1111Fields {
  readonly sampler: string;
  /** Always written: A1111 reads a missing one as `Automatic`, which is Karras for DPM++ 2M, DPM2 and DPM2 a. */
  readonly scheduleType: string;
  readonly emphasis?: Emphasis;
  readonly ensd?: number;
  /** A1111's Beta schedule shape, written where a k-diffusion sampler ran the Beta schedule. */
  readonly betaSchedule?: typeof BETA_SCHEDULE_SHAPE;
}

/**
 * The fields of a request, as A1111 writes them (`create_infotext`): a k-diffusion run in A1111 mode names its
 * sampler and the schedule `Automatic` resolved to; a sampler without a port in A1111 mode its dreamcord name;
 * otherwise (diffusers mode) the sampler's A1111 name with the schedule A1111 must use to come closest —
 * `Uniform` where A1111's default would be Karras. `Emphasis`
 * appears, as in A1111, only when a prompt holds `(` or `[` and the mode is not `Original` (plain syntax is
 * A1111's `None`); `ENSD` only when set and the sampler draws noise after the first.
 */
export function a1111Fields(request: InfotextSettings): A1111Fields {
  const sampler = a1111SamplerOf(request);
  const label = samplerLabel(request.sampler);
  const asked = request.scheduleType ?? 'Automatic';
  // In A1111 mode a sampler without a port is drawn by diffusers' scheduler: it keeps dreamcord's own name ("DDIM
  // Trailing", "Euler v-prediction"), which A1111 maps to none of its samplers (not to its DDIM or Euler, another
  // picture) and dreamcord's paste reads back to the same sampler.
  const diffusersInA1111Mode = request.compat === 'a1111' && !sampler;
  // A1111's timestep samplers ignore the schedule type; A1111 writes the one chosen.
  const scheduleType = sampler
    ? sampler.family === 'k-diffusion'
      ? resolvedSchedule(sampler, asked)
      : asked
    : diffusersInA1111Mode
      ? 'Automatic'
      : (label.schedule ?? (kSamplerFor(request.sampler)?.defaultSchedule ? 'Uniform' : 'Automatic'));
  const emphasis = request.promptSyntax === 'plain' ? 'None' : (request.emphasis ?? 'Original');
  const bracketed = encodedTexts(request, sampler).some((text) => /[([]/.test(text));
  const ensd = request.ensd ?? 0;
  return {
    sampler: sampler?.name ?? (diffusersInA1111Mode ? label.name : label.sampler),
    scheduleType,
    ...(bracketed && emphasis !== 'Original' ? { emphasis } : {}),
    ...(ensd !== 0 && sampler?.family === 'k-diffusion' && sampler.usesEnsd ? { ensd } : {}),
    ...(sampler?.family === 'k-diffusion' && scheduleType === 'Beta' ? { betaSchedule: BETA_SCHEDULE_SHAPE } : {}),
  };
}

/** A1111's key for its noise schedule setting (`sd_noise_schedule`), which it writes when it is not the default. */
export const NOISE_SCHEDULE = 'Noise Schedule';

/**
 * `Noise Schedule: Zero Terminal SNR`, as A1111 writes it (`apply_alpha_schedule_override`), for a picture A1111
 * mode drew on a zero-SNR model (its scheduler config's `rescale_betas_zero_snr`, a sidecar's `zeroTerminalSnr`).
 */
export function noiseScheduleField(compat: ResolvedParameters['compat'] | undefined, schedulerConfig: Readonly<Record<string, unknown>>): Record<string, string> {
  return compat === 'a1111' && schedulerConfig['rescale_betas_zero_snr'] === true ? { [NOISE_SCHEDULE]: 'Zero Terminal SNR' } : {};
}

/** A1111's keys for its img2img noise settings (`initial_noise_multiplier`, `img2img_extra_noise`). */
export const NOISE_MULTIPLIER = 'Noise multiplier';
export const EXTRA_NOISE = 'Extra noise';

/**
 * `Noise multiplier` and `Extra noise` where they acted, as A1111 writes them (`StableDiffusionProcessingImg2Img.sample`
 * and the sampler's `sample_img2img`, so after the other keys): the multiplier when it is not 1 (img2img and
 * inpainting only), the extra noise when it is above 0 (img2img, inpainting, a hires fix's second pass). Python's
 * `str` of the setting's float.
 */
export function img2imgNoiseFields(request: Partial<Pick<ResolvedParameters, 'noiseMultiplier' | 'extraNoise'>>): Record<string, string> {
  const { noiseMultiplier = 1, extraNoise = 0 } = request;
  return {
    ...(noiseMultiplier === 1 ? {} : { [NOISE_MULTIPLIER]: pythonFloat(noiseMultiplier) }),
    ...(extraNoise > 0 ? { [EXTRA_NOISE]: pythonFloat(extraNoise) } : {}),
  };
}

/** The texts the text encoder reads: in A1111 sampling each sub-prompt's scheduled texts, otherwise the prompts. */
function encodedTexts(request: InfotextSettings, sampler: A1111Sampler | undefined): string[] {
  if (!sampler) return [request.prompt, request.negativePrompt];
  const calls = scheduledCalls(sampler, request.steps);
  return [...subPrompts(request.prompt).map((p) => p.text), request.negativePrompt].flatMap((text) =>
    promptSchedule(text, calls).map((entry) => entry.text),
  );
}
