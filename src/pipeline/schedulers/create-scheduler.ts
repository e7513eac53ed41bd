import { DDIMScheduler } from './ddim.js';
import { DDPMScheduler } from './ddpm.js';
import { DEISMultistepScheduler } from './deis.js';
import { DPMSolverMultistepScheduler } from './dpm-solver-multistep.js';
import { DPMSolverSinglestepScheduler } from './dpm-solver-singlestep.js';
import { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
import { EulerDiscreteScheduler } from './euler.js';
import { HeunDiscreteScheduler } from './heun.js';
import { KDPM2AncestralDiscreteScheduler } from './kdpm2-ancestral.js';
import { KDPM2DiscreteScheduler } from './kdpm2.js';
import { LCMScheduler } from './lcm.js';
import { LMSDiscreteScheduler } from './lms.js';
import { PNDMScheduler } from './pndm.js';
import { UniPCMultistepScheduler } from './unipc.js';
import { isDiffusersSampler, type DiffusersSamplerId, type Scheduler, type SchedulerConfig, type SchedulerId } from './types.js';

/** A scheduler class and the config keys that make the sampler an id names. */
interface Variant {
  readonly create: new (config: SchedulerConfig, id: SchedulerId) => Scheduler;
  readonly keys: SchedulerConfig;
}

// Classes that accept `use_karras_sigmas` get it explicitly, so that a model config asking for Karras sigmas
// cannot turn "Euler" into "Euler Karras" behind the user's back (and the infotext label stays true).
const PLAIN = { use_karras_sigmas: false } as const;
const KARRAS = { use_karras_sigmas: true } as const;
const V_PREDICTION = { prediction_type: 'v_prediction' } as const;

/** Every sampler id with a diffusers class: the class and variant keys (the model's config supplies the rest). */
const VARIANTS: { readonly [Id in DiffusersSamplerId]: Variant } = {
  pndm: { create: PNDMScheduler, keys: {} },
  ddim: { create: DDIMScheduler, keys: {} },
  ddim_trailing: { create: DDIMScheduler, keys: { timestep_spacing: 'trailing' } },
  ddim_v: { create: DDIMScheduler, keys: V_PREDICTION },
  euler: { create: EulerDiscreteScheduler, keys: PLAIN },
  euler_karras: { create: EulerDiscreteScheduler, keys: KARRAS },
  euler_v: { create: EulerDiscreteScheduler, keys: { ...PLAIN, ...V_PREDICTION } },
  euler_a: { create: EulerAncestralDiscreteScheduler, keys: {} },
  lms: { create: LMSDiscreteScheduler, keys: PLAIN },
  heun: { create: HeunDiscreteScheduler, keys: PLAIN },
  dpm2: { create: KDPM2DiscreteScheduler, keys: PLAIN },
  dpm2_a: { create: KDPM2AncestralDiscreteScheduler, keys: PLAIN },
  dpmpp_2m: { create: DPMSolverMultistepScheduler, keys: PLAIN },
  dpmpp_2m_karras: { create: DPMSolverMultistepScheduler, keys: KARRAS },
  dpmpp_2s: { create: DPMSolverSinglestepScheduler, keys: PLAIN },
  unipc: { create: UniPCMultistepScheduler, keys: PLAIN },
  deis: { create: DEISMultistepScheduler, keys: PLAIN },
  ddpm: { create: DDPMScheduler, keys: {} },
  lcm: { create: LCMScheduler, keys: {} },
};

/**
 * A new scheduler for one job, configured like diffusers' `Class.from_config(model_config, **variant_keys)`:
 * the model's `scheduler_config.json` with the sampler's own keys on top (e.g. `euler_karras` sets
 * `use_karras_sigmas`, `ddim_trailing` sets `timestep_spacing` "trailing"); keys a class does not accept are
 * ignored. Schedulers are stateful: never share one between jobs.
 *
 * @throws {Error} when the config holds a value the class rejects (wrong type, unsupported option).
 * @throws {RangeError} for a sampler only A1111 sampling runs (`A1111_ONLY_SAMPLERS`).
 */
export function createScheduler(id: SchedulerId, modelConfig: SchedulerConfig): Scheduler {
  if (!isDiffusersSampler(id)) throw new RangeError(`Sampler ${id} has no diffusers scheduler: it runs only as A1111 runs it (compat a1111)`);
  const variant = VARIANTS[id];
  // diffusers ignores the key in the classes without it, drawing a zero-SNR model on the plain schedule: refused here.
  if (modelConfig['rescale_betas_zero_snr'] === true && !ZERO_SNR_CLASSES.has(variant.create)) {
    throw new Error(`Expected \`rescale_betas_zero_snr\` of ${variant.create.name} to be false (the only value supported), got true`);
  }
  return new variant.create({ ...modelConfig, ...variant.keys }, id);
}

/** The classes that rescale a schedule to zero terminal SNR (`rescale_betas_zero_snr`); others refuse it. */
const ZERO_SNR_CLASSES: ReadonlySet<Variant['create']> = new Set([DDIMScheduler, EulerDiscreteScheduler, EulerAncestralDiscreteScheduler]);
