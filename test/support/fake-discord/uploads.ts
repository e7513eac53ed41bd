import type { IncomingMessage } from 'node:http';

/** One file of a multipart request: `files[n]` in discord.js's uploads, where `n` is what `attachments[].id` names. */
export interface UploadedFile {
  readonly key: string;
  readonly filename: string;
  readonly contentType: string;
  readonly bytes: Buffer;
}

/** A request body: the JSON (from the body itself, or the `payload_json` part) and the uploaded files. */
export interface RequestBody {
  readonly json: unknown;
  readonly files: readonly UploadedFile[];
}

/** Reads and parses a request body; an empty body is `json: undefined`. Throws `SyntaxError` on broken JSON. */
export async function readBody(request: IncomingMessage): Promise<RequestBody> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const contentType = request.headers['content-type'] ?? '';
  if (contentType.startsWith('multipart/form-data')) return readMultipart(raw, contentType);
  return { json: raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8')), files: [] };
}

/** Node parses multipart itself through the Fetch API's `Request.formData()`. */
async function readMultipart(raw: Buffer, contentType: string): Promise<RequestBody> {
  const form = await new Request('http://fake.invalid/', {
    method: 'POST',
    body: raw,
    headers: { 'content-type': contentType },
  }).formData();
  const files: UploadedFile[] = [];
  let json: unknown;
  for (const [name, value] of form) {
    if (typeof value === 'string') {
      if (name === 'payload_json') json = JSON.parse(value);
      continue;
    }
    const key = /^files\[(.+)\]$/.exec(name)?.[1] ?? name;
    files.push({ key, filename: value.name, contentType: value.type, bytes: Buffer.from(await value.arrayBuffer()) });
  }
  return { json, files };
}
