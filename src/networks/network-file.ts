import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, extname } from 'node:path';
import { isCheckpointError, SafetensorsFile } from '../checkpoint/index.js';
import { NetworkError } from './errors.js';

/** Extensions of PyTorch pickles, refused because loading one runs code from the file. */
const PICKLE_EXTENSIONS = new Set(['.pt', '.pth', '.bin', '.ckpt']);

/** What a network is called in prompts: its file name without the extension (A1111's rule). */
export function networkName(file: string): string {
  return basename(file, extname(file));
}

/**
 * Opens a network's `.safetensors` file (headers only).
 * @param kind - what it is, for messages: "embedding", "LoRA".
 * @throws NetworkError `PICKLE_REFUSED`, `NOT_FOUND`, `UNREADABLE`.
 */
export function openNetworkFile(file: string, kind: string): SafetensorsFile {
  const extension = extname(file).toLowerCase();
  if (PICKLE_EXTENSIONS.has(extension)) {
    throw new NetworkError(
      'PICKLE_REFUSED',
      file,
      `${basename(file)} is a PyTorch pickle (${extension}), which runs code when loaded; use the .safetensors version of the ${kind}`,
    );
  }
  try {
    return SafetensorsFile.open(file);
  } catch (error) {
    if (!isCheckpointError(error)) throw error;
    const code = error.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'UNREADABLE';
    throw new NetworkError(code, file, `${kind} ${error.message}`, { cause: error });
  }
}

/**
 * Tensor `name` of a network's file, widened to float32.
 * @throws NetworkError `UNREADABLE` (a truncated file, a dtype that is not F32, F16 or BF16).
 */
export function readTensor(tensors: SafetensorsFile, name: string): Float32Array {
  try {
    return tensors.read(name);
  } catch (error) {
    if (!isCheckpointError(error)) throw error;
    throw new NetworkError('UNREADABLE', tensors.path, error.message, { cause: error });
  }
}

/** A1111's short hash of a file (`TI hashes`, `Lora hashes`): the first 12 hex digits of its sha256. */
export async function shortHash(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex').slice(0, 12);
}
