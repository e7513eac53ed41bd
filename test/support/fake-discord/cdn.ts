/** A file the fake CDN serves. */
export interface CdnFile {
  readonly bytes: Buffer;
  readonly contentType: string;
}

/**
 * The fake's CDN: the bytes of every attachment, uploaded by the bot or by a test, served over HTTP so the bot
 * downloads them exactly as it would from cdn.discordapp.com.
 */
export class Cdn {
  readonly #base: string;
  readonly #files = new Map<string, CdnFile>();

  /** `base` is the CDN's root URL, e.g. `http://127.0.0.1:1234/cdn`. */
  constructor(base: string) {
    this.#base = base;
  }

  /** Serves `file` under `path` (segments joined with `/`, each URL-encoded here) and returns its URL. */
  put(segments: readonly string[], file: CdnFile): string {
    const url = `${this.#base}/${segments.map(encodeURIComponent).join('/')}`;
    this.#files.set(new URL(url).pathname, file);
    return url;
  }

  /** The file at `url` (a full URL or the path part of one), if the CDN has it. */
  get(url: string): CdnFile | undefined {
    return this.#files.get(new URL(url, this.#base).pathname);
  }
}
