import type Keyv from 'keyv';
import type { ZodType } from 'zod';
import { StoreBackendError, StoreError } from './errors.js';

/** How each record is kept: its schema version beside the data, so a later release can tell old records apart. */
interface Envelope {
  readonly v: number;
  readonly data: unknown;
}

/** The record schema of one collection. */
export interface CollectionSchema<T> {
  /** Validates what is read back (and what is written). */
  readonly schema: ZodType<T>;
  /** Bumped whenever the shape of `T` changes. Minimum: 1. */
  readonly version: number;
  /** Turns a record written with an older `version` into the current shape; without it such a record is an error. */
  readonly migrate?: (data: unknown, fromVersion: number) => T;
}

/**
 * A namespace of JSON records of one type (guild settings, job records, queue state, …) over keyv.
 * Values are validated on the way in and on the way out.
 */
export class Collection<T> {
  readonly #keyv: Keyv<Envelope>;
  readonly #name: string;
  readonly #spec: CollectionSchema<T>;

  constructor(keyv: Keyv<Envelope>, name: string, spec: CollectionSchema<T>) {
    this.#keyv = keyv;
    this.#name = name;
    this.#spec = spec;
  }

  /** The record stored under `key`, or `undefined`. */
  async get(key: string): Promise<T | undefined> {
    const envelope = await this.#run(`read ${key}`, () => this.#keyv.get(key));
    return envelope === undefined ? undefined : this.#open(key, envelope);
  }

  /** Stores `value` under `key`, replacing what was there. */
  async set(key: string, value: T): Promise<void> {
    const data = this.#check(key, value);
    await this.#run(`write ${key}`, () => this.#keyv.set(key, { v: this.#spec.version, data }));
  }

  /** Removes `key`; true when it existed. */
  async delete(key: string): Promise<boolean> {
    return this.#run(`delete ${key}`, () => this.#keyv.delete(key));
  }

  /** Every record of this collection, in no particular order. */
  async *entries(): AsyncGenerator<[string, T]> {
    const iterator = this.#keyv.iterator?.(undefined);
    if (!iterator) throw new StoreError(`The store backend cannot list the records of "${this.#name}".`);
    const prefix = `${this.#name}:`;
    for await (const [rawKey, envelope] of iterator as AsyncGenerator<[string, Envelope]>) {
      const key = rawKey.startsWith(prefix) ? rawKey.slice(prefix.length) : rawKey;
      yield [key, this.#open(key, envelope)];
    }
  }

  #check(key: string, value: unknown): T {
    const parsed = this.#spec.schema.safeParse(value);
    if (!parsed.success) {
      throw new StoreError(`Record "${this.#name}/${key}" does not match its schema: ${parsed.error.message}`);
    }
    return parsed.data;
  }

  #open(key: string, envelope: Envelope): T {
    if (envelope.v === this.#spec.version) return this.#check(key, envelope.data);
    if (envelope.v < this.#spec.version && this.#spec.migrate) {
      return this.#check(key, this.#spec.migrate(envelope.data, envelope.v));
    }
    throw new StoreError(
      `Record "${this.#name}/${key}" has schema version ${envelope.v}; this release reads version ${this.#spec.version}.`,
    );
  }

  async #run<R>(what: string, operation: () => Promise<R>): Promise<R> {
    try {
      return await operation();
    } catch (error) {
      throw new StoreBackendError(`Store could not ${what} in "${this.#name}": ${(error as Error).message}`, { cause: error });
    }
  }
}
