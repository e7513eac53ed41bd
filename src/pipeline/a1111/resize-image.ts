// A1111's `images.resize_image` (modules/images.py, v1.10.1) in the two modes its "Inpaint area: Only masked" uses,
// with no img2img upscaler set (A1111's default): Pillow's LANCZOS `resize`, the result pasted centred into a new
// black picture. Mode 1, "crop and resize", covers the target and crops the overflow; mode 2, "resize and
// fill", fits inside it and fills the two bands left with the picture's edge rows (or columns) resized from a box
// of zero height (or width) at that edge.
import { pillowResize, type Bytes8 } from '../image/pillow-resample.js';

/**
 * `resize_image(mode, im, width, height)`, in `image`'s bands. A1111's new picture is RGB, a one-band mask pasted
 * into it in grey: its three bands equal, which is what `convert('L')` reads back, so a mask stays one band here.
 */
export function a1111ResizeImage(mode: 1 | 2, image: Bytes8, width: number, height: number): Bytes8 {
  const ratio = width / height;
  const sourceRatio = image.width / image.height;
  const coverWide = mode === 1 ? ratio > sourceRatio : ratio < sourceRatio;
  const coverTall = mode === 1 ? ratio <= sourceRatio : ratio >= sourceRatio;
  // Python's `//` on positive ints.
  const sourceWidth = coverWide ? width : Math.floor((image.width * height) / image.height);
  const sourceHeight = coverTall ? height : Math.floor((image.height * width) / image.width);
  const resized = pillowResize(image, sourceWidth, sourceHeight, 'lanczos');
  let out: Bytes8 = { width, height, bands: image.bands, data: new Uint8Array(width * height * image.bands) };
  out = paste(out, resized, Math.floor(width / 2) - Math.floor(sourceWidth / 2), Math.floor(height / 2) - Math.floor(sourceHeight / 2));
  if (mode === 1) return out;
  if (ratio < sourceRatio) {
    const band = Math.floor(height / 2) - Math.floor(sourceHeight / 2);
    if (band > 0) {
      out = paste(out, pillowResize(resized, width, band, 'lanczos', [0, 0, width, 0]), 0, 0);
      out = paste(out, pillowResize(resized, width, band, 'lanczos', [0, resized.height, width, resized.height]), 0, band + sourceHeight);
    }
  } else if (ratio > sourceRatio) {
    const band = Math.floor(width / 2) - Math.floor(sourceWidth / 2);
    if (band > 0) {
      out = paste(out, pillowResize(resized, band, height, 'lanczos', [0, 0, 0, height]), 0, 0);
      out = paste(out, pillowResize(resized, band, height, 'lanczos', [resized.width, 0, resized.width, height]), band + sourceWidth, 0);
    }
  }
  return out;
}

/**
 * `dst.paste(src, (x, y))`, clipped to `dst` (offsets may be negative): a one-band `src` in a three-band `dst` goes
 * in grey (`convert('RGB')`), a three-band one in a four-band `dst` opaque (`convert('RGBA')`). A new picture.
 */
export function paste(dst: Bytes8, src: Bytes8, x: number, y: number): Bytes8 {
  const data = dst.data.slice();
  const band = (p: number, b: number): number => {
    if (b >= src.bands) return b === 3 ? 255 : (src.data[p * src.bands] ?? 0);
    return src.data[p * src.bands + b] ?? 0;
  };
  for (let row = Math.max(y, 0); row < Math.min(y + src.height, dst.height); row++) {
    for (let col = Math.max(x, 0); col < Math.min(x + src.width, dst.width); col++) {
      const p = (row - y) * src.width + (col - x);
      for (let b = 0; b < dst.bands; b++) data[(row * dst.width + col) * dst.bands + b] = band(p, b);
    }
  }
  return { ...dst, data };
}
