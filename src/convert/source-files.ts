import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * The files a conversion reads, their identity on disk (cheap: sizes and times) and their content hash (a full
 * read: ~2 s per GB on a 2-core machine, so done once per conversion, never per start).
 */

/** The folders of a diffusers model the converter reads (the tokenizer and scheduler are small JSON/text). */
const FOLDER_PARTS = ['unet', 'vae', 'text_encoder', 'text_encoder_2', 'scheduler', 'tokenizer', 'tokenizer_2'];

/** Every file of `source` the conversion depends on, sorted: the file itself, or a diffusers folder's parts. */
export function sourceFiles(source: string): string[] {
  const root = resolve(source);
  if (!statSync(root).isDirectory()) return [root];
  const files: string[] = [];
  for (const part of FOLDER_PARTS) {
    const dir = join(root, part);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isFile()) files.push(path);
    }
  }
  return files;
}

export interface SourceIdentity {
  /** Total bytes of the source files. */
  readonly size: number;
  /** The newest modification time among them (ms since the epoch). */
  readonly mtimeMs: number;
}

export function sourceIdentity(source: string): SourceIdentity {
  let size = 0;
  let mtimeMs = 0;
  for (const file of sourceFiles(source)) {
    const stat = statSync(file);
    size += stat.size;
    mtimeMs = Math.max(mtimeMs, stat.mtimeMs);
  }
  return { size, mtimeMs };
}

/** sha256 of the file, or for a folder of each file's relative path and content in order. */
export async function sourceSha256(source: string): Promise<string> {
  const root = resolve(source);
  const files = sourceFiles(root);
  const hash = createHash('sha256');
  const isFolder = files.length !== 1 || files[0] !== root;
  for (const file of files) {
    if (isFolder) hash.update(`${relative(root, file)}\0`);
    for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
