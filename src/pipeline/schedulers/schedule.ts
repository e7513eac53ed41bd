/**
 * Noise-schedule primitives shared by the samplers, each reproducing the torch / numpy expression diffusers
 * uses (noted per function), because float32 and float64 paths round differently and the references are exact.
 */

/** `torch.linspace(start, end, steps, dtype=float32)`: float32 step, first half from `start`, second half from `end`. */
export function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  const s = Math.fround(start);
  const e = Math.fround(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = Math.fround(Math.fround(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? s + Math.fround(step * i) : e - Math.fround(step * (steps - i - 1));
  }
  return out;
}

/** `np.linspace(start, end, steps)` in float64 (numpy computes `start + i·step`, then pins the last value to `end`). */
export function linspaceF64(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (steps - 1);
  for (let i = 0; i < steps; i++) out[i] = start + i * step;
  out[steps - 1] = end;
  return out;
}

/** The beta schedules diffusers supports for SD models, as float32 like diffusers' `self.betas`. */
export function makeBetas(
  schedule: string,
  betaStart: number,
  betaEnd: number,
  numTrainTimesteps: number,
): Float32Array {
  switch (schedule) {
    case 'linear':
      return linspaceF32(betaStart, betaEnd, numTrainTimesteps);
    case 'scaled_linear': {
      const roots = linspaceF32(Math.sqrt(betaStart), Math.sqrt(betaEnd), numTrainTimesteps);
      return roots.map((r) => Math.fround(r * r));
    }
    case 'squaredcos_cap_v2':
      return betasForAlphaBar(numTrainTimesteps);
    default:
      throw new Error(
        `Expected \`beta_schedule\` to be one of linear, scaled_linear, squaredcos_cap_v2, got ${JSON.stringify(schedule)}`,
      );
  }
}

/** diffusers' `betas_for_alpha_bar` with the cosine transform (Glide), max beta 0.999. */
function betasForAlphaBar(numTrainTimesteps: number): Float32Array {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * Math.PI * 0.5) ** 2;
  const out = new Float32Array(numTrainTimesteps);
  for (let i = 0; i < numTrainTimesteps; i++) {
    const t1 = i / numTrainTimesteps;
    const t2 = (i + 1) / numTrainTimesteps;
    out[i] = Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
  }
  return out;
}

/** `torch.cumprod(1 - betas, dim=0)` in float32. */
export function alphasCumprod(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc = Math.fround(acc * Math.fround(1 - (betas[i] ?? 0)));
    out[i] = acc;
  }
  return out;
}

/** Karras et al. (2022) noise levels, diffusers' `_convert_to_karras` (numpy float64, rho = 7). */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number): Float64Array {
  const rho = 7;
  const ramp = linspaceF64(0, 1, steps);
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  return ramp.map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
}

/**
 * Fractional training timestep of a noise level, diffusers' `_sigma_to_t`: linear interpolation in log-sigma
 * space over the training sigmas (ascending by timestep), float64.
 */
export function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // low_idx: the last index whose log-sigma is <= logSigma, clipped so that high_idx exists.
  let lowIdx = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - (logSigmas[i] ?? 0) >= 0) lowIdx = i;
  lowIdx = Math.min(lowIdx, logSigmas.length - 2);
  const low = logSigmas[lowIdx] ?? 0;
  const high = logSigmas[lowIdx + 1] ?? 0;
  const w = Math.min(Math.max((low - logSigma) / (low - high), 0), 1);
  return (1 - w) * lowIdx + w * (lowIdx + 1);
}
