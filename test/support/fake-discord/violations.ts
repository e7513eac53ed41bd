/** Which Discord rule a request broke. */
export type ViolationRule =
  | 'ack-deadline'
  | 'double-ack'
  | 'unknown-interaction'
  | 'unknown-webhook'
  | 'token-expired'
  | 'invalid-form-body'
  | 'file-too-large'
  | 'missing-access'
  | 'missing-permissions'
  | 'unauthorized'
  | 'unknown-route'
  | 'gateway'
  | 'fake-error';

/** One broken rule: what the bot did that real Discord would have refused (or that the fake could not serve). */
export interface Violation {
  readonly rule: ViolationRule;
  /** Discord's explanation, with the offending fields for form-body errors. */
  readonly message: string;
  /** `METHOD /path` of the request, or `gateway` for a gateway payload. */
  readonly source: string;
  /** Fake-clock time, in epoch milliseconds. */
  readonly at: number;
}

/** The violations recorded so far, in order. */
export class ViolationLog {
  readonly #entries: Violation[] = [];
  readonly #now: () => number;
  readonly #onRecord: () => void;

  /** `now` stamps each violation; `onRecord` runs after each (to wake waiting tests). */
  constructor(now: () => number, onRecord: () => void) {
    this.#now = now;
    this.#onRecord = onRecord;
  }

  /** Every violation, oldest first. */
  get all(): readonly Violation[] {
    return this.#entries;
  }

  /** Adds a violation, stamped with the current fake-clock time. */
  record(violation: Omit<Violation, 'at'>): void {
    this.#entries.push({ ...violation, at: this.#now() });
    this.#onRecord();
  }
}
