// A1111 inpainting's fields in its infotext (`Mask blur`, `Mask mode`, `Inpaint area`, `Masked area padding`,
// `Masked content`, `Conditional mask weight`), written and read back by the same names.
import type { InfotextParams, ParsedInfotext } from '../image/index.js';
import { MASKED_CONTENTS, type InpaintOptions, type MaskedContent, type ResolvedInpaint } from '../request.js';

const INVERTED = 'Inpaint not masked';
const ONLY_MASKED = 'Only masked';

/**
 * The fields A1111 writes for an inpainting's settings, leaving out its defaults as it does, but for `Mask blur`,
 * written also at 0: A1111 leaves 0 out, and its paste would then keep its default, 4. With `maskDropped` ("Only
 * masked" found no area, see `GenerateResult.maskDropped`) A1111 never reaches the area and content fields.
 */
export function inpaintInfotext(
  inpaint: ResolvedInpaint,
  inpaintingModel: boolean,
  maskDropped = false,
): Pick<InfotextParams, 'maskBlur' | 'maskMode' | 'inpaintArea' | 'maskedAreaPadding' | 'maskedContent' | 'conditionalMaskWeight'> {
  return {
    maskBlur: inpaint.maskBlur,
    ...(inpaint.invertMask ? { maskMode: INVERTED } : {}),
    ...(inpaint.onlyMasked && !maskDropped ? { inpaintArea: ONLY_MASKED, maskedAreaPadding: inpaint.maskedPadding } : {}),
    ...(inpaint.maskedContent === 'original' || maskDropped ? {} : { maskedContent: inpaint.maskedContent }),
    // `is_using_inpainting_conditioning`: only an inpainting UNet is conditioned on the masked picture.
    ...(inpaintingModel ? { conditionalMaskWeight: inpaint.maskWeight } : {}),
  };
}

/**
 * A pasted block's inpainting settings (for a request that has a mask), or undefined when it has none; a value
 * A1111 does not have is named in `ignored`.
 */
export function inpaintFromInfotext(parsed: ParsedInfotext, ignored: string[]): InpaintOptions | undefined {
  const { maskBlur, maskMode, maskedContent, conditionalMaskWeight, inpaintArea, maskedAreaPadding } = parsed;
  if (inpaintArea !== undefined && inpaintArea !== ONLY_MASKED && inpaintArea !== 'Whole picture') ignored.push(`Inpaint area: ${inpaintArea} (not an A1111 inpaint area)`);
  const padding = maskedAreaPadding !== undefined && Number.isInteger(maskedAreaPadding) ? maskedAreaPadding : undefined;
  if (maskedAreaPadding !== undefined && padding === undefined) ignored.push(`Masked area padding: ${maskedAreaPadding} (A1111's is a whole number of pixels)`);
  if (maskMode !== undefined && maskMode !== INVERTED && maskMode !== 'Inpaint masked') ignored.push(`Mask mode: ${maskMode} (not an A1111 mask mode)`);
  const content = MASKED_CONTENTS.find((c) => c === maskedContent);
  if (maskedContent !== undefined && !content) ignored.push(`Masked content: ${maskedContent} (not an A1111 masked content; original used)`);
  const options: InpaintOptions = {
    ...(maskBlur === undefined || !Number.isInteger(maskBlur) ? {} : { maskBlur }),
    ...(maskMode === INVERTED ? { invertMask: true } : {}),
    ...(content === undefined ? {} : { maskedContent: content satisfies MaskedContent }),
    ...(conditionalMaskWeight === undefined ? {} : { maskWeight: conditionalMaskWeight }),
    ...(inpaintArea === ONLY_MASKED ? { onlyMasked: true } : {}),
    ...(padding === undefined ? {} : { maskedPadding: padding }),
  };
  if (maskBlur !== undefined && !Number.isInteger(maskBlur)) ignored.push(`Mask blur: ${maskBlur} (A1111's is a whole number of pixels)`);
  return Object.keys(options).length > 0 ? options : undefined;
}
