import type { APIAttachment } from 'discord.js';
import { imageSize } from './image-size.js';

/** An attachment as Discord describes it, plus the bytes the fake CDN serves for it. */
export interface FakeAttachment extends APIAttachment {
  readonly bytes: Buffer;
}

/** What makes an attachment: the CDN URL is decided by the caller, which knows where the file lives. */
export interface AttachmentSpec {
  readonly id: string;
  readonly filename: string;
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly url: string;
  readonly description?: string | undefined;
  readonly ephemeral?: boolean;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json',
};

/** Discord sniffs the content type from the file name when the upload does not say (or says only octet-stream). */
export function contentTypeFor(filename: string, declared?: string): string {
  if (declared && declared !== 'application/octet-stream') return declared;
  const extension = filename.split('.').pop()?.toLowerCase() ?? '';
  return CONTENT_TYPES[extension] ?? 'application/octet-stream';
}

/** An attachment with size and, for images, width and height read from the bytes. */
export function createAttachment(spec: AttachmentSpec): FakeAttachment {
  const size = imageSize(spec.bytes);
  return {
    id: spec.id,
    filename: spec.filename,
    size: spec.bytes.length,
    url: spec.url,
    proxy_url: spec.url,
    content_type: spec.contentType,
    ...(size ?? {}),
    ...(spec.description === undefined ? {} : { description: spec.description }),
    ...(spec.ephemeral ? { ephemeral: true } : {}),
    bytes: spec.bytes,
  };
}

/** The attachment without its bytes: what goes over the wire. */
export function apiAttachment(attachment: FakeAttachment): APIAttachment {
  const api: APIAttachment & { bytes?: Buffer } = { ...attachment };
  delete api.bytes;
  return api;
}
