import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FailureError } from '../failure.js';
import { encodePng, type Rgb8Image } from '../pipeline/index.js';
import type { Collection, Store } from '../store/index.js';
import type { GeneratedImage, GenerationInputs } from '../generator/generator.js';
import type { GenerationRequest } from '../generator/request.js';

/** One stored picture: a PNG, base64 (store values are JSON). */
const storedImageSchema = z.object({ png: z.string() });
type StoredImage = z.infer<typeof storedImageSchema>;

/** The key of image `index` (0-based) of job `jobId`'s result. */
export function resultKey(jobId: string, index: number): string {
  return `result:${jobId}:${index}`;
}

/**
 * The pictures jobs start from, kept in the store (collection `job-inputs`) so that a queued job survives a restart
 * and a 🎲 reroll finds its inputs again: the prepared source images and masks of `/variation` and `/inpaint`
 * (keyed by their content, so a picture sent twice is kept once) and every result's images (keyed by job and
 * index, for 🔀 Variations and `/variation job:`). Pictures are lossless PNGs, so an inpaint keeps the pixels
 * outside its mask exactly.
 */
export class InputStore {
  readonly #images: Collection<StoredImage>;

  private constructor(images: Collection<StoredImage>) {
    this.#images = images;
  }

  static async open(store: Store): Promise<InputStore> {
    return new InputStore(await store.collection('job-inputs', { schema: storedImageSchema, version: 1 }));
  }

  /** Stores a source image or mask; returns its key. */
  async put(image: Rgb8Image): Promise<string> {
    const png = await encodePng(image);
    const key = `image:${createHash('sha256').update(png).digest('hex')}`;
    await this.#set(key, png);
    return key;
  }

  /** Stores the images of job `jobId`'s result. */
  async putResults(jobId: string, images: readonly GeneratedImage[]): Promise<void> {
    for (const [index, { image }] of images.entries()) await this.#set(resultKey(jobId, index), await encodePng(image));
  }

  /**
   * The pictures `request` starts from.
   * @throws FailureError `INPUT_MISSING` (`details.what`: picture or mask) when one is no longer stored.
   */
  async inputsOf(request: GenerationRequest): Promise<GenerationInputs> {
    const load = async (key: string | undefined, what: string): Promise<Uint8Array | undefined> => {
      if (key === undefined) return undefined;
      const png = await this.get(key);
      if (png === undefined) throw new FailureError('INPUT_MISSING', { what });
      return png;
    };
    const image = await load(request.source?.inputKey, 'picture');
    const mask = await load(request.mask?.inputKey, 'mask');
    return { ...(image ? { image } : {}), ...(mask ? { mask } : {}) };
  }

  /** Deletes the `count` images of job `jobId`'s result: one the content policy withheld must not stay behind. */
  async deleteResults(jobId: string, count: number): Promise<void> {
    for (let index = 0; index < count; index++) await this.#images.delete(resultKey(jobId, index));
  }

  /** Image `index` (0-based) of job `jobId`'s result, if it is stored. */
  getResult(jobId: string, index: number): Promise<Uint8Array | undefined> {
    return this.get(resultKey(jobId, index));
  }

  /** The PNG stored under `key`, if it is there. */
  async get(key: string): Promise<Uint8Array | undefined> {
    const stored = await this.#images.get(key);
    return stored === undefined ? undefined : Buffer.from(stored.png, 'base64');
  }

  async #set(key: string, png: Uint8Array): Promise<void> {
    await this.#images.set(key, { png: Buffer.from(png).toString('base64') });
  }
}
