import { z } from 'zod';
import type { GeneratedImages } from '../generator/generator.js';
import type { InputStore } from '../inputs/input-store.js';
import { decodeImage, toRgb8 } from '../pipeline/index.js';
import type { Collection, Store } from '../store/index.js';
import type { ContentScreen, Screening } from './content-screen.js';
import type { JobRecord } from './job-record.js';

/** How one attempt to show a result went: the message that shows it, or whether trying again later may work. */
export type Delivery =
  | { readonly ok: true; readonly messageId: string }
  | { readonly ok: false; readonly transient: boolean; readonly error: unknown };

/**
 * Shows finished jobs to the members who asked: the Discord layer implements it. One call is one attempt (with
 * whatever short retries the Discord layer makes itself); `signal` aborts it at shutdown, when it should give up at
 * once: the job stays undelivered and the next start delivers it.
 */
export interface ResultPresenter {
  /** Shows the result; with `spoiler`, its files are spoilers and a content warning says why. */
  deliver(record: JobRecord, images: GeneratedImages, signal: AbortSignal, options: { readonly spoiler: boolean }): Promise<Delivery>;
  /**
   * Shows, instead of a result the content policy blocked, a neutral notice (details for moderators only), and
   * tells the member privately where Discord still allows it.
   */
  withhold(record: JobRecord, screening: Screening, signal: AbortSignal): Promise<Delivery>;
}

/** What the delivery step tells the job service. */
export interface DeliveryOutcomes {
  delivered(record: JobRecord, messageId: string): Promise<void>;
  /** The content policy flagged the result (once per job, whatever it decided): for the audit log. */
  screened(record: JobRecord, screening: Screening): void;
  /**
   * The result was withheld (`messageId` shows the notice, when Discord took it): the job ends `blocked` and its
   * pictures are deleted.
   */
  blocked(record: JobRecord, messageId: string | undefined): Promise<void>;
  /** A delivery that cannot work: Discord refused it for good, or the pictures were lost. */
  undeliverable(record: JobRecord, reason: 'refused' | 'lost'): Promise<void>;
  /** A store failure while delivering; the delivery is retried. */
  error(error: unknown): void;
}

/** Pauses between delivery attempts while Discord fails: 5 s, doubling up to 5 min, for as long as the bot runs. */
const RETRY_FIRST_MS = 5000;
const RETRY_MAX_MS = 300_000;

/** Stored pictures are the bot's own results; this only bounds what a damaged store could make it decode. */
const STORED_PIXEL_LIMIT = 4096 * 4096;

/** A delivery under way or waiting to retry. */
interface Pending {
  running?: Promise<void> | undefined;
  timer?: NodeJS.Timeout;
  waitMs: number;
  /** The content policy's verdict, once made: a retried delivery is not classified again. */
  screening?: Screening;
}

/**
 * The delivery step: runs after a job's pictures exist and its GPU slot is free, so a Discord outage or a slow
 * upload never idles the GPU or times out a finished job. Every result is screened first (`content-screen.ts`): it
 * is shown as it is, as a spoiler, or withheld. A job waits here in status `undelivered` (on its one
 * record, and in the `jobs-undelivered` index) until its result is shown; failed attempts are retried with growing
 * pauses, and a restart resumes every undelivered job from its stored pictures.
 */
export class Deliveries {
  readonly #undelivered: Collection<true>;
  readonly #inputs: InputStore;
  readonly #outcomes: DeliveryOutcomes;
  readonly #screen: ContentScreen;
  readonly #closing = new AbortController();
  /** Deliveries under way or waiting to retry, by job id. */
  readonly #pending = new Map<string, Pending>();
  #presenter: ResultPresenter | undefined;

  private constructor(undelivered: Collection<true>, inputs: InputStore, outcomes: DeliveryOutcomes, screen: ContentScreen) {
    this.#undelivered = undelivered;
    this.#inputs = inputs;
    this.#outcomes = outcomes;
    this.#screen = screen;
  }

  static async open(store: Store, inputs: InputStore, outcomes: DeliveryOutcomes, screen: ContentScreen): Promise<Deliveries> {
    const undelivered = await store.collection('jobs-undelivered', { schema: z.literal(true), version: 1 });
    return new Deliveries(undelivered, inputs, outcomes, screen);
  }

  /** Records that `jobId` waits for delivery, before its runner gives the GPU slot back. */
  async mark(jobId: string): Promise<void> {
    await this.#undelivered.set(jobId, true);
  }

  /** Starts delivering with `presenter`: first every job left undelivered by the last run (`find` reads its record). */
  async start(presenter: ResultPresenter, find: (jobId: string) => Promise<JobRecord | undefined>): Promise<void> {
    this.#presenter = presenter;
    // Read to the end first: entries are deleted below, and a store's iterator need not survive that.
    const jobIds: string[] = [];
    for await (const [jobId] of this.#undelivered.entries()) jobIds.push(jobId);
    for (const jobId of jobIds) {
      const record = await find(jobId);
      if (record?.status === 'undelivered') this.deliver(record);
      else await this.#undelivered.delete(jobId);
    }
  }

  /** Delivers `record`'s result: `images` as generated, or (after a restart) its stored pictures. */
  deliver(record: JobRecord, images?: GeneratedImages): void {
    if (this.#closing.signal.aborted) return;
    const pending = this.#pending.get(record.id) ?? { waitMs: RETRY_FIRST_MS };
    this.#pending.set(record.id, pending);
    pending.running = this.#attempt(record, images, pending).finally(() => (pending.running = undefined));
  }

  /** Stops delivering: attempts under way give up, retries are dropped; undelivered jobs resume at the next start. */
  async close(): Promise<void> {
    this.#closing.abort();
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    await Promise.all([...this.#pending.values()].map((pending) => pending.running ?? Promise.resolve()));
  }

  async #attempt(record: JobRecord, images: GeneratedImages | undefined, pending: Pending): Promise<void> {
    const presenter = this.#presenter;
    if (!presenter) throw new Error('Deliveries.start() was not called.');
    try {
      const pictures = images ?? (await this.#stored(record));
      if (!pictures) return await this.#end(record, () => this.#outcomes.undeliverable(record, 'lost'));
      const screening = pending.screening ?? (await this.#screened(record, pictures));
      pending.screening = screening;
      const signal = this.#closing.signal;
      if (screening.action === 'block') {
        const withheld = await presenter.withhold(record, screening, signal);
        // A notice Discord refuses for good still ends the job: its pictures must go either way.
        const messageId = withheld.ok ? withheld.messageId : undefined;
        if (withheld.ok || !withheld.transient) return await this.#end(record, () => this.#outcomes.blocked(record, messageId));
      } else {
        const delivery = await presenter.deliver(record, pictures, signal, { spoiler: screening.action === 'spoiler' });
        if (delivery.ok) return await this.#end(record, () => this.#outcomes.delivered(record, delivery.messageId));
        if (!delivery.transient) return await this.#end(record, () => this.#outcomes.undeliverable(record, 'refused'));
      }
    } catch (error) {
      this.#outcomes.error(error);
    }
    if (this.#closing.signal.aborted) return;
    // Kept in memory for the next attempt: a restart meanwhile reads them back from the store.
    const waitMs = pending.waitMs;
    pending.waitMs = Math.min(RETRY_MAX_MS, waitMs * 2);
    pending.timer = setTimeout(() => this.deliver(record, images), waitMs);
  }

  async #screened(record: JobRecord, pictures: GeneratedImages): Promise<Screening> {
    const screening = await this.#screen.screen(record, pictures);
    if (screening.flagged > 0) this.#outcomes.screened(record, screening);
    return screening;
  }

  async #end(record: JobRecord, tell: () => Promise<void>): Promise<void> {
    await tell();
    await this.#undelivered.delete(record.id);
    this.#pending.delete(record.id);
  }

  /** The stored pictures of `record`'s result, or undefined when one is gone. */
  async #stored(record: JobRecord): Promise<GeneratedImages | undefined> {
    const result = record.result;
    if (!result?.parameters) return undefined;
    const images = [];
    for (const [index, seed] of result.seeds.entries()) {
      const png = await this.#inputs.getResult(record.id, index);
      if (png === undefined) return undefined;
      const { image } = await decodeImage(png, { maxPixels: STORED_PIXEL_LIMIT });
      images.push({ image: toRgb8(image), seed, parameters: result.parameters[index] ?? '' });
    }
    return { images, warnings: [], model: result.model, durationMs: result.durationMs };
  }
}
