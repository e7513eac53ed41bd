// Uploads that are pictures, but odd ones: formats and layouts a member's phone or editor may send, and ones made to
// hurt (an SVG that asks to be drawn at 100 000² pixels, an empty file).
import sharp from 'sharp';
import { drawPng } from '../support/pictures.js';

/** An upload as a member's client sends it. */
export interface OddPicture {
  readonly bytes: Buffer;
  readonly filename: string;
  readonly contentType: string;
}

export const ODD_PICTURE_KINDS = ['empty', 'one-pixel', 'extreme-aspect', 'sixteen-bit', 'grey-alpha', 'cmyk-jpeg', 'gif', 'svg-bomb'] as const;
export type OddPictureKind = (typeof ODD_PICTURE_KINDS)[number];

/** Each odd picture, made once. */
export async function oddPictures(): Promise<Record<OddPictureKind, OddPicture>> {
  const stripes = (x: number) => (x % 2 === 0 ? [250, 40, 40] : [40, 40, 250]);
  const raw = (channels: 1 | 2 | 3 | 4) => sharp(Buffer.alloc(16 * 16 * channels, 128), { raw: { width: 16, height: 16, channels } });
  const png = (bytes: Buffer, name: string) => ({ bytes, filename: name, contentType: 'image/png' });
  return {
    empty: png(Buffer.alloc(0), 'empty.png'),
    'one-pixel': png(await drawPng(1, 1, () => [10, 200, 10]), 'dot.png'),
    'extreme-aspect': png(await drawPng(4096, 8, stripes), 'banner.png'),
    'sixteen-bit': png(await raw(3).toColourspace('rgb16').png().toBuffer(), 'deep.png'),
    'grey-alpha': png(await raw(2).png().toBuffer(), 'grey.png'),
    'cmyk-jpeg': { bytes: await raw(3).toColourspace('cmyk').jpeg().toBuffer(), filename: 'print.jpg', contentType: 'image/jpeg' },
    gif: { bytes: await raw(3).gif().toBuffer(), filename: 'still.gif', contentType: 'image/gif' },
    'svg-bomb': {
      bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><rect width="100%" height="100%"/></svg>'),
      filename: 'huge.svg',
      contentType: 'image/svg+xml',
    },
  };
}
