import { passesFilter, type RequestFilter } from './request-filter.js';

/** Requests that the fake carries out but does not answer until released, for crash tests. */
export interface HoldSpec extends RequestFilter {
  /** How many matching requests are held. @default 1 */
  readonly times?: number;
  /** Only requests whose JSON body (a form's `payload_json`) passes this (any body, when left out). */
  readonly body?: (json: unknown) => boolean;
}

/**
 * Held answers: Discord has done what each matching request asked (created the message, say) but the bot has not
 * heard so yet — the moment a bot can die having done something it does not know it did.
 */
export class Hold {
  readonly spec: HoldSpec;
  /** The decoded paths of the requests held so far, in arrival order. */
  readonly held: string[] = [];
  readonly #release: Promise<void>;
  #letGo: () => void = () => undefined;
  #released = false;

  constructor(spec: HoldSpec) {
    this.spec = spec;
    this.#release = new Promise((resolve) => (this.#letGo = resolve));
  }

  /** Whether it holds this request's answer. */
  matches(method: string, path: string, json: unknown): boolean {
    if (this.#released || this.held.length >= (this.spec.times ?? 1) || !passesFilter(this.spec, method, path)) return false;
    return this.spec.body?.(json) ?? true;
  }

  /** Keeps one request's answer back until {@link release}. */
  keep(path: string): Promise<void> {
    this.held.push(path);
    return this.#release;
  }

  /** Sends the answers held (and lets later matching requests through unheld). */
  release(): void {
    this.#released = true;
    this.#letGo();
  }
}
