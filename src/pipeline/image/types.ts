/**
 * A float image: `height` rows of `width` pixels of `channels` interleaved samples (HWC, row-major), each in
 * [0, 1]. This is the layout diffusers' `VaeImageProcessor` works in before it transposes to NCHW, so the
 * fixtures' `init_image.f32` is exactly such an image.
 */
export interface FloatImage<C extends 1 | 3 = 1 | 3> {
  /** Pixels per row, ≥ 1. */
  readonly width: number;
  /** Rows, ≥ 1. */
  readonly height: number;
  /** Samples per pixel: 3 for RGB, 1 for a single plane (alpha, mask). */
  readonly channels: C;
  /** `width · height · channels` samples in [0, 1]. */
  readonly data: Float32Array;
}

/** An sRGB image as HWC RGB floats in [0, 1] (`byte / 255` for decoded files). */
export type RgbImage = FloatImage<3>;

/** One plane (an alpha channel, a luminance) as HW floats in [0, 1]. */
export type GrayImage = FloatImage<1>;

/**
 * An inpainting mask at image resolution: 1 = repaint, 0 = keep. Masks built here are binary (0 or 1) except
 * a drawn mask's grey levels (`maskLuminance`, for A1111's inpainting) and the output of `featherMask`, whose
 * edge ramps between them and which is meant only for compositing.
 */
export type Mask = GrayImage;

/** An 8-bit RGB image, HWC row-major: what PNG encoding and A1111's saved files hold. */
export interface Rgb8Image {
  readonly width: number;
  readonly height: number;
  /** `width · height · 3` bytes. */
  readonly data: Uint8Array;
}

/** A width and a height in pixels. */
export interface Size {
  readonly width: number;
  readonly height: number;
}
