import { passesFilter, type RequestFilter } from './request-filter.js';
import type { RouteReply } from './router.js';

/** A failure to answer instead of the real response, for reliability tests. */
export interface FaultSpec extends RequestFilter {
  /** 429 (rate limited; discord.js waits `retryAfter` and retries by itself), or a server error. */
  readonly status: 429 | 500 | 502 | 503;
  /** Seconds to wait before retrying a 429. @default 0.05 */
  readonly retryAfter?: number;
  /** A global rate limit (all routes) rather than this route's. @default false */
  readonly global?: boolean;
  /** How many matching requests fail. @default 1 */
  readonly times?: number;
}

/** An injected fault: how often it fired so far. */
export class Fault {
  readonly spec: FaultSpec;
  #hits = 0;
  #ended = false;

  constructor(spec: FaultSpec) {
    this.spec = spec;
  }

  /** How many requests it failed. */
  get hits(): number {
    return this.#hits;
  }

  /** Whether it has failed all the requests it was asked to, or was ended. */
  get spent(): boolean {
    return this.#ended || this.#hits >= (this.spec.times ?? 1);
  }

  /** Ends the outage now, however many requests it was to fail (for an outage that lasts until something happens). */
  end(): void {
    this.#ended = true;
  }

  /** Whether it applies to this request. */
  matches(method: string, path: string): boolean {
    return !this.spent && passesFilter(this.spec, method, path);
  }

  /** Fails one request: the answer Discord gives for this status. */
  fire(): RouteReply {
    this.#hits += 1;
    const { status, retryAfter = 0.05, global = false } = this.spec;
    if (status !== 429) return { status, json: { message: `${status}: Server error (injected)`, code: 0 } };
    return {
      status,
      json: { message: 'You are being rate limited.', retry_after: retryAfter, global, code: 0 },
      headers: {
        'retry-after': String(retryAfter),
        'x-ratelimit-scope': global ? 'global' : 'user',
        ...(global ? { 'x-ratelimit-global': 'true' } : {}),
      },
    };
  }
}
