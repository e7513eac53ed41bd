// Where A1111's img2img sampling starts (v1.10.1): `StableDiffusionProcessingImg2Img.sample` multiplies the first
// noise draw by its "Noise multiplier" (`initial_noise_multiplier`), then the sampler's `sample_img2img` noises the
// init latents with it and, with "Extra noise" (`img2img_extra_noise`) above 0, adds that share of the noise again:
//   k-diffusion:  xi = x + noise · σ₀;           xi += noise · extra
//   timesteps:    xi = x · √ᾱ + noise · √(1 − ᾱ); xi += noise · extra · √ᾱ
// Every operation is torch's on float32 tensors (the settings are cast to float32), so each product and sum is
// rounded to float32 here too.

const f32 = Math.fround;

/** The factors of one family's `sample_img2img`: the init latents', the noise's and the extra noise's. */
export interface NoiseScales {
  /** 1 (k-diffusion) or √ᾱ at the timestep the walk starts below (A1111's timestep samplers). */
  readonly image: number;
  /** σ₀ of the walked schedule, or √(1 − ᾱ). */
  readonly noise: number;
  /** 1 (k-diffusion) or √ᾱ. */
  readonly extra: number;
}

/** A1111's img2img noise settings. */
export interface Img2imgNoise {
  /** "Noise multiplier" (1: none); A1111 applies it to img2img and inpainting, not to the hires pass. */
  readonly noiseMultiplier: number;
  /** "Extra noise" (0: none). */
  readonly extraNoise: number;
}

/**
 * The latents the sampler starts from: `init` (the init latents or the upscaled first pass, `[count, 4, h, w]`)
 * noised with `drawn` (the pictures' first noise draw, same shape) as A1111 noises them.
 */
export function noisedInit(init: Float32Array, drawn: Float32Array, scales: NoiseScales, settings: Img2imgNoise): Float32Array {
  const multiplier = f32(settings.noiseMultiplier);
  const extra = f32(settings.extraNoise);
  return init.map((x, i) => {
    const noise = f32((drawn[i] ?? 0) * multiplier);
    const noised = f32(f32(x * scales.image) + f32(noise * scales.noise));
    return extra > 0 ? f32(noised + f32(f32(noise * extra) * scales.extra)) : noised;
  });
}
