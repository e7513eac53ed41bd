// GPT-2/CLIP byte-level alphabet: BPE works on UTF-8 bytes, but the vocabulary stores them as printable
// characters so that merges.txt stays a text file. Bytes that are already printable Latin-1 map to themselves;
// the others (control characters, space, soft hyphen…) are shifted to code points 256 and up.

/** Whether a byte is printable Latin-1 and therefore stands for itself in the byte-level alphabet. */
function isPrintableByte(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

/** `BYTE_TO_CHAR[b]` is the one-character string that stands for byte `b`. */
const BYTE_TO_CHAR: readonly string[] = (() => {
  const table: string[] = [];
  let shifted = 0;
  for (let byte = 0; byte < 256; byte += 1) {
    table.push(String.fromCharCode(isPrintableByte(byte) ? byte : 256 + shifted++));
  }
  return table;
})();

/** The inverse of `BYTE_TO_CHAR`: code point → byte. */
const CHAR_TO_BYTE: ReadonlyMap<number, number> = new Map(
  BYTE_TO_CHAR.map((char, byte) => [char.charCodeAt(0), byte]),
);

const utf8Encoder = new TextEncoder();
// `fatal: false` turns byte sequences cut in the middle of a character (a truncated token run) into U+FFFD,
// like the Hugging Face decoders' `errors="replace"`.
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** Maps a string's UTF-8 bytes to byte-level characters, one character per byte. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const byte of utf8Encoder.encode(text)) out += BYTE_TO_CHAR[byte];
  return out;
}

/**
 * Maps byte-level characters back to the text they encode. Characters outside the byte-level alphabet cannot
 * come from a vocabulary token and are dropped.
 */
export function fromByteLevel(chars: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < chars.length; i += 1) {
    const byte = CHAR_TO_BYTE.get(chars.charCodeAt(i));
    if (byte !== undefined) bytes.push(byte);
  }
  return utf8Decoder.decode(Uint8Array.from(bytes));
}
