// Textual-inversion embeddings as people share them (A1111's `modules/textual_inversion`): a `.safetensors` file
// whose `emb_params` tensor holds n vectors (SDXL's: `clip_l` and `clip_g`, n for each encoder), called in prompts
// by the file's name.
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { SafetensorsFile } from '../checkpoint/index.js';
import type { TextualInversion } from '../pipeline/index.js';
import { isNetworkError, NetworkError } from './errors.js';
import { networkName, openNetworkFile, readTensor, shortHash } from './network-file.js';

/** An embedding read from its file, with A1111's short hash of it (`TI hashes`). */
export interface LoadedEmbedding {
  readonly embedding: TextualInversion;
  readonly file: string;
  readonly hash: string;
}

/** Every embedding of a folder, and a sentence for each file that could not be used. */
export interface EmbeddingFolder {
  readonly embeddings: readonly LoadedEmbedding[];
  readonly problems: readonly string[];
}

/** What a network folder's files may be: `.safetensors`, and the pickles refused with a reason. */
const NETWORK_EXTENSIONS = new Set(['.safetensors', '.pt', '.pth', '.bin', '.ckpt']);

/**
 * Reads a textual-inversion embedding: `emb_params` `[n, width]` (A1111's and kohya's), a single vector `[width]`,
 * or an SDXL one: `clip_l` `[n, 768]` and `clip_g` `[n, 1280]` (A1111's), one set of vectors per text encoder.
 * @throws NetworkError `PICKLE_REFUSED` (`.pt`), `NOT_FOUND`, `UNREADABLE`, `NOT_A_NETWORK` (no `emb_params`, or
 *   only one of `clip_l` and `clip_g`, or they differ in vector count).
 */
export async function readEmbedding(file: string): Promise<LoadedEmbedding> {
  const tensors = openNetworkFile(file, 'embedding');
  const name = networkName(file);
  if (tensors.has('clip_l') || tensors.has('clip_g')) {
    return { embedding: { name, ...readSdxlVectors(tensors, file) }, file, hash: await shortHash(file) };
  }
  if (!tensors.has('emb_params')) {
    const keys = tensors.names().slice(0, 5).join(', ');
    throw new NetworkError('NOT_A_NETWORK', file, `${basename(file)} is not a textual-inversion embedding: it has no emb_params (it has ${keys || 'no tensors'})`);
  }
  const { count } = vectorShape(tensors, 'emb_params', file);
  return { embedding: { name, vectors: readTensor(tensors, 'emb_params'), count }, file, hash: await shortHash(file) };
}

/** An SDXL embedding's `clip_l` (the first encoder's vectors) and `clip_g` (the second's), as many of each. */
function readSdxlVectors(tensors: SafetensorsFile, file: string): Omit<TextualInversion, 'name'> {
  const missing = ['clip_l', 'clip_g'].find((key) => !tensors.has(key));
  if (missing) {
    throw new NetworkError('NOT_A_NETWORK', file, `${basename(file)} is an SDXL embedding without ${missing}: it needs clip_l and clip_g`);
  }
  const first = vectorShape(tensors, 'clip_l', file);
  const second = vectorShape(tensors, 'clip_g', file);
  if (first.count !== second.count) {
    const message = `${basename(file)}: clip_l holds ${first.count} vectors and clip_g ${second.count}; an SDXL embedding has as many of each`;
    throw new NetworkError('NOT_A_NETWORK', file, message);
  }
  return { vectors: readTensor(tensors, 'clip_l'), count: first.count, secondVectors: readTensor(tensors, 'clip_g') };
}

/** The vector count and width of tensor `key`: `[n, width]`, or one vector `[width]`. */
function vectorShape(tensors: SafetensorsFile, key: string, file: string): { count: number; width: number } {
  const shape = tensors.info(key).shape;
  const [count = 0, width = 0] = shape.length === 1 ? [1, shape[0]] : shape;
  if (shape.length > 2 || count < 1 || width < 1) {
    throw new NetworkError('NOT_A_NETWORK', file, `${basename(file)}: ${key} is [${shape.join(', ')}]; an embedding is [vectors, width]`);
  }
  return { count, width };
}

/** A1111's `TI hashes` value for the embeddings a generation used, by name: "name: hash, …" ('' for none). */
export function embeddingHashes(loaded: readonly LoadedEmbedding[]): (used: readonly string[]) => string {
  const hashes = new Map(loaded.map(({ embedding, hash }) => [embedding.name, hash]));
  return (used) => used.map((name) => `${name}: ${hashes.get(name) ?? ''}`).join(', ');
}

/**
 * Reads every embedding in `dir` (not its subfolders). A file that cannot be used is left out with a sentence in
 * `problems`; files of other kinds (previews, notes) are ignored.
 * @throws NetworkError `NOT_FOUND` when `dir` cannot be read.
 */
export async function readEmbeddingFolder(dir: string): Promise<EmbeddingFolder> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new NetworkError('NOT_FOUND', dir, `Cannot read the embeddings folder ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const embeddings: LoadedEmbedding[] = [];
  const problems: string[] = [];
  const files = entries.filter((e) => e.isFile() && NETWORK_EXTENSIONS.has(extname(e.name).toLowerCase()));
  for (const entry of files.sort((a, b) => a.name.localeCompare(b.name))) {
    try {
      embeddings.push(await readEmbedding(join(dir, entry.name)));
    } catch (error) {
      if (!isNetworkError(error)) throw error;
      problems.push(error.message);
    }
  }
  return { embeddings, problems };
}
