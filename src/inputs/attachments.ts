import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { decodeImage, formatMillions, ImageInputError, PARAMETERS_KEYWORD, readPngText, type DecodedImage } from '../pipeline/index.js';
import { Refused, type Result } from '../refusal.js';

/** What a member's attachment may be (`attachments` in `config/default.json`). */
export interface AttachmentLimits {
  /** Largest file, in bytes. */
  readonly maxBytes: number;
  /** Largest width × height; a bigger image (a decompression bomb) is refused from its header. */
  readonly maxPixels: number;
  /** Longest the whole download may take, in ms. */
  readonly timeoutMs: number;
}

/** An attachment option as Discord resolved it in the interaction. */
export interface AttachmentRef {
  /** The option's name, so the member knows which file a message is about. */
  readonly option: string;
  /** The CDN address Discord gave in the interaction: the only place the bot downloads from. */
  readonly url: string;
  /** The size Discord reported, in bytes. */
  readonly size: number;
}

/**
 * Downloads an attachment and decodes it as a PNG, JPEG or WebP image. The size Discord reported is checked before
 * anything is fetched, the bytes are counted again while they arrive (a `Content-Length` is not trusted), redirects
 * are not followed, and the whole download has a time limit. The format comes from the bytes, never from the file
 * name; animated images and images over the pixel limit are refused from their header.
 *
 * @returns the decoded image, or a refusal that names the option and says what to send instead.
 */
export async function fetchImage(attachment: AttachmentRef, limits: AttachmentLimits): Promise<Result<{ image: DecodedImage }>> {
  return refusedAs(attachment, async () => {
    const bytes = await fetchBytes(attachment, limits);
    return { ok: true, image: await decodeImage(bytes, { maxPixels: limits.maxPixels, maxBytes: limits.maxBytes }) };
  });
}

/**
 * Downloads an attachment as {@link fetchImage} does and reads the AUTOMATIC1111 parameters a PNG carries in its
 * `parameters` text chunk (what A1111, Forge and dreamcord write; Discord keeps it in a PNG sent as a file).
 *
 * @returns the parameters text, or a refusal naming the option: not a PNG, damaged, or without parameters.
 */
export async function fetchPngParameters(attachment: AttachmentRef, limits: AttachmentLimits): Promise<Result<{ parameters: string }>> {
  return refusedAs(attachment, async () => {
    const parameters = readPngText(await fetchBytes(attachment, limits))[PARAMETERS_KEYWORD];
    if (parameters === undefined) {
      throw new Refused('INVALID_OPTION', 'This PNG carries no AUTOMATIC1111 parameters (a picture saved by A1111, Forge or dreamcord, sent as a file, does).');
    }
    return { ok: true, parameters };
  });
}

/** The attachment's bytes: its reported size checked first, then downloaded within the limits. */
async function fetchBytes(attachment: AttachmentRef, limits: AttachmentLimits): Promise<Uint8Array> {
  if (attachment.size > limits.maxBytes) {
    throw new Refused('INVALID_OPTION', `The file is ${megabytes(attachment.size)}; the limit is ${megabytes(limits.maxBytes)}.`);
  }
  return download(attachment.url, limits);
}

/** Runs `read`, turning what the member sent wrong into a refusal that names the option. */
async function refusedAs<T>(attachment: AttachmentRef, read: () => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await read();
  } catch (error) {
    const reason = error instanceof Refused || error instanceof ImageInputError ? error.message : undefined;
    if (reason === undefined) throw error;
    return { ok: false, code: 'INVALID_OPTION', message: `\`${attachment.option}\`: ${reason}` };
  }
}

/**
 * GETs `url` as it is (a redirect is not followed), keeping at most `maxBytes`, within `timeoutMs` in all. Plain
 * `node:http` rather than fetch: fetch loses its abort signal when the garbage collector takes its internal request
 * (a stalled download then hangs for undici's five minutes, whatever the signal says), and here the timer destroys
 * the socket itself.
 */
function download(url: string, limits: AttachmentLimits): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const get = new URL(url).protocol === 'https:' ? httpsGet : httpGet;
    const request = get(url, (response) => {
      if (response.statusCode !== 200) {
        fail(`Discord answered ${response.statusCode ?? 'nothing'} when I downloaded it; please upload it again.`);
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > limits.maxBytes) fail(`The file is over the limit of ${megabytes(limits.maxBytes)}.`);
        else chunks.push(chunk);
      });
      response.on('end', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      });
      response.on('error', () => fail('I could not download it from Discord. Please try again.'));
    });
    request.on('error', () => fail('I could not download it from Discord. Please try again.'));
    const timer = setTimeout(() => fail(`Downloading it took longer than ${limits.timeoutMs / 1000} s. Please try again.`), limits.timeoutMs);
    // The first failure wins; destroying the request ends the transfer and its socket.
    function fail(message: string): void {
      clearTimeout(timer);
      request.destroy();
      reject(new Refused('INVALID_OPTION', message));
    }
  });
}

/** "21 MB", "0.066 MB". */
function megabytes(bytes: number): string {
  return `${formatMillions(bytes)} MB`;
}
