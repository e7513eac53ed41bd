// Image handling for the pipeline: decoding uploads, model tensors, masks, PNG output and A1111 infotext.
export type { FloatImage, GrayImage, Mask, Rgb8Image, RgbImage, Size } from './types.js';
export { formatMillions, ImageInputError } from './errors.js';
export type { ImageInputErrorCode } from './errors.js';
export { decodeImage } from './decode.js';
export type { DecodedImage, DecodeLimits, InputFormat } from './decode.js';
export { fromRgb8, toRgb8 } from './convert.js';
export { planWorkingSize, SIZE_MULTIPLE, toWorkingSize } from './prepare.js';
export type { WorkingSize } from './prepare.js';
export { resizeImage } from './resize.js';
export { fromModelOutput, toModelTensor } from './tensor.js';
export {
  applyMaskToImage,
  binarizeMask,
  isEmptyMask,
  isFullMask,
  MASK_THRESHOLD,
  maskFromAlpha,
  maskLuminance,
  maskToLatent,
} from './mask.js';
export { MASK_REGIONS, regionMask } from './region.js';
export type { MaskRegion } from './region.js';
export { featherMask } from './feather.js';
export { compositeOutsideMask } from './composite.js';
export { encodePng, PARAMETERS_KEYWORD, readPngText, withParameters } from './png.js';
export type { PngCompression } from './png.js';
export { composeGrid, encodeGrid, gridLayout } from './grid.js';
export { fitUnderSize } from './fit.js';
export type { FittedFile, FittedFormat } from './fit.js';
export { formatInfotext, InfotextError, parseInfotext } from './infotext.js';
export type { InfotextParams, ParsedInfotext } from './infotext.js';
