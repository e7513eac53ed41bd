// A1111's `sd_samplers_common.setup_img2img_steps` (v1.10.1): how long a schedule img2img samples, and where on it
// it starts, for both sampler families.

/** An img2img pass: its steps and strength; `fixSteps` for the hires fix's second pass (see {@link img2imgSteps}). */
export interface Img2imgPass {
  readonly steps: number;
  readonly strength: number;
  readonly fixSteps?: boolean | undefined;
}

/**
 * The schedule length `steps` and `t_enc` (the sampler walks `t_enc + 1` levels of it). Img2img's rule:
 * `t_enc = ⌊min(strength, 0.999) · steps⌋` of the request's steps. The hires fix passes its steps to the sampler,
 * which takes A1111's other rule (its `img2img_fix_steps`): a schedule of `⌊steps / min(strength, 0.999)⌋` of which
 * exactly the requested `steps` are walked (`t_enc = steps − 1`).
 */
export function img2imgSteps(pass: Img2imgPass): { steps: number; tEnc: number } {
  const strength = Math.min(pass.strength, 0.999);
  if (pass.fixSteps) return { steps: Math.trunc(pass.steps / strength), tEnc: pass.steps - 1 };
  return { steps: pass.steps, tEnc: Math.trunc(strength * pass.steps) };
}
