import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { cp, rename, rm } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { openCheckpoint, type FamilyRow } from '../checkpoint/index.js';
import { sourceSha256 } from '../convert/source-files.js';

/** A model that could not be added; the message says what to do. Nothing is registered when one is thrown. */
export class AddModelError extends Error {
  constructor(
    readonly code: 'EXISTS' | 'DOWNLOAD_FAILED' | 'CHECKSUM_MISMATCH' | 'DISK_FULL' | 'BAD_SOURCE',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = `AddModelError[${code}]`;
  }
}

export interface AddOptions {
  /** The expected sha256 (hex): a file that does not match is deleted. */
  readonly sha256?: string | undefined;
  /** Bytes written so far and in all (undefined when the server does not say). */
  readonly onProgress?: (done: number, total: number | undefined) => void;
}

export interface AddedModel {
  readonly name: string;
  readonly path: string;
  readonly family: FamilyRow;
  readonly sha256: string;
}

/**
 * Copies a checkpoint (a path) or downloads it (an http(s) URL) into `modelsDir`, through `.<file>.partial`, which
 * a broken download leaves behind: the next `add` of the same URL resumes it with an HTTP Range request. The file
 * is kept only when its checksum matches (when one is given) and its safetensors header reads as a model dreamcord
 * converts; it then appears under its final name, so the catalog never sees half a file.
 * @throws AddModelError, or CheckpointError for a file that is not a usable model (deleted too).
 */
export async function addModel(source: string, modelsDir: string, options: AddOptions = {}): Promise<AddedModel> {
  const remote = /^https?:\/\//i.test(source);
  const fileName = remote ? fileNameOf(source) : basename(source.replace(/[\\/]+$/, ''));
  const target = join(modelsDir, fileName);
  const name = extname(fileName).toLowerCase() === '.safetensors' ? basename(fileName, extname(fileName)) : fileName;
  if (existsSync(target)) throw new AddModelError('EXISTS', `${fileName} is already in ${modelsDir}; remove it first`);
  const partial = join(modelsDir, `.${fileName}.partial`);
  try {
    if (remote) await download(source, partial, options);
    else await copyLocal(source, partial, options);
  } catch (error) {
    // A broken download is kept to resume; a failed copy is simply made again.
    if (!remote) await rm(partial, { recursive: true, force: true });
    throw asAddError(error, remote, partial);
  }
  try {
    const sha256 = await sourceSha256(partial);
    if (options.sha256 !== undefined && sha256 !== options.sha256.toLowerCase()) {
      throw new AddModelError(
        'CHECKSUM_MISMATCH',
        `${fileName}: sha256 ${sha256} is not the expected ${options.sha256}; the file was deleted, nothing was added`,
      );
    }
    const { family } = openCheckpoint(partial);
    await rename(partial, target);
    return { name, path: target, family, sha256 };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

/** The file name a URL names (its last path segment), which must be a `.safetensors` file. */
function fileNameOf(url: string): string {
  const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  if (!/^[^\\/]+\.safetensors$/i.test(last) || last.startsWith('.')) {
    throw new AddModelError('BAD_SOURCE', `${url} does not name a .safetensors file (the last part of its path)`);
  }
  return last;
}

async function copyLocal(source: string, partial: string, options: AddOptions): Promise<void> {
  if (!existsSync(source)) throw new AddModelError('BAD_SOURCE', `${source} does not exist`);
  if (statSync(source).isDirectory()) {
    await cp(source, partial, { recursive: true });
    return;
  }
  const total = statSync(source).size;
  await pipeline(createReadStream(source), counting(0, total, options), createWriteStream(partial));
}

/** Downloads `url` into `partial`, resuming from the bytes it already holds when the server takes a Range. */
async function download(url: string, partial: string, options: AddOptions): Promise<void> {
  const have = existsSync(partial) ? statSync(partial).size : 0;
  const response = await fetch(url, have > 0 ? { headers: { Range: `bytes=${have}-` } } : {});
  if (response.status === 416 && have > 0) return; // the partial file is already whole
  if (!response.ok || !response.body) {
    throw new AddModelError('DOWNLOAD_FAILED', `${url} answered HTTP ${response.status} ${response.statusText}`.trim());
  }
  const resumed = response.status === 206;
  const length = Number(response.headers.get('content-length') ?? NaN);
  const start = resumed ? have : 0;
  const total = Number.isFinite(length) ? start + length : undefined;
  const body = Readable.fromWeb(response.body as ReadableStream<Uint8Array>);
  await pipeline(body, counting(start, total, options), createWriteStream(partial, { flags: resumed ? 'a' : 'w' }));
  if (total !== undefined && statSync(partial).size !== total) {
    throw new AddModelError('DOWNLOAD_FAILED', `${url} ended after ${statSync(partial).size} of ${total} bytes`);
  }
}

/** Passes bytes through, reporting the running count. */
function counting(start: number, total: number | undefined, options: AddOptions): Transform {
  let done = start;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      options.onProgress?.(done, total);
      callback(null, chunk);
    },
  });
}

/** A failure while copying or downloading, worded; a download's partial file is kept for resuming. */
function asAddError(error: unknown, remote: boolean, partial: string): unknown {
  if (error instanceof AddModelError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const kept = remote ? `; what was downloaded is kept in ${partial}: free some space and run the same add to resume` : '';
    return new AddModelError('DISK_FULL', `The disk filled up${kept}`, { cause: error });
  }
  if (remote) {
    const reason = (error as Error).message;
    return new AddModelError('DOWNLOAD_FAILED', `The download broke (${reason}); run the same add again to resume it`, { cause: error });
  }
  return error;
}
