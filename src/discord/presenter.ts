import { AttachmentBuilder, type Client } from 'discord.js';
import type { GeneratedImages } from '../jobs/generator.js';
import type { JobRecord } from '../jobs/job-record.js';
import type { JobPresenter, JobService } from '../jobs/job-service.js';
import { resultFiles } from '../jobs/result-files.js';
import type { Logger } from '../log.js';
import { JobView, type ViewPayload } from './job-view.js';
import { progressComponents, progressContent, resultComponents, resultEmbed, type JobState } from './render.js';

/** What the presenter remembers of a job while it is shown. */
interface Shown {
  /** Edits run one after another, in order. */
  chain: Promise<void>;
  lastEditAt: number;
  timer?: NodeJS.Timeout | undefined;
  pending?: { record: JobRecord; payload: ViewPayload } | undefined;
  messageId?: string | undefined;
  finished: boolean;
  /** Resumed after a restart: the member keeps being told while the job waits. */
  resumed: boolean;
}

/**
 * Shows every job in Discord: its place in line and progress while it waits and runs (at most one edit per
 * job every `editIntervalMs`, the latest state winning), then its result or why it failed.
 */
export class DiscordPresenter implements JobPresenter {
  readonly #client: Client<true>;
  readonly #jobs: JobService;
  readonly #log: Logger;
  readonly #editIntervalMs: number;
  readonly #shown = new Map<string, Shown>();

  constructor(client: Client<true>, jobs: JobService, log: Logger, editIntervalMs: number) {
    this.#client = client;
    this.#jobs = jobs;
    this.#log = log;
    this.#editIntervalMs = editIntervalMs;
    this.#listen();
  }

  async deliver(record: JobRecord, images: GeneratedImages): Promise<{ messageId: string }> {
    const shown = this.#stateOf(record.id);
    this.#cancelPending(shown);
    shown.finished = true;
    await shown.chain;
    const view = this.#viewOf(record, shown);
    const limit = view.tokenAlive ? (record.origin.interaction?.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT) : DEFAULT_UPLOAD_LIMIT;
    const files = await resultFiles(record.id, images, limit);
    const payload: ViewPayload = {
      content: `<@${record.origin.userId}>`,
      embeds: [resultEmbed(record, files.some((file) => file.scaledDown))],
      components: resultComponents(record),
      files: files.map((file) => new AttachmentBuilder(Buffer.from(file.bytes), { name: file.name })),
    };
    // After the interaction token expired the result goes to the channel as a new message that mentions the member.
    const messageId = view.editable ? await view.show(payload) : (await view.post(payload)).id;
    this.#shown.delete(record.id);
    if (messageId === undefined) return { messageId: (await view.post(payload)).id };
    return { messageId };
  }

  #listen(): void {
    const jobs = this.#jobs;
    jobs.on('queued', (record, position, etaMs) => this.#progress(record, { kind: 'queued', position, etaMs }));
    jobs.on('position', (record, position, etaMs) => this.#progress(record, { kind: 'queued', position, etaMs }));
    jobs.on('resumed', (record, position, etaMs) => {
      this.#stateOf(record.id).resumed = true;
      this.#progress(record, { kind: 'queued', position, etaMs });
    });
    jobs.on('started', (record) => this.#progress(record, { kind: 'running', step: 0, total: record.request.steps, etaMs: 0 }));
    jobs.on('progress', (record, step, total, etaMs) => this.#progress(record, { kind: 'running', step, total, etaMs }));
    jobs.on('failed', (record, message) => this.#final(record, { kind: 'failed', message }));
    jobs.on('cancelled', (record, byUserId) => this.#final(record, { kind: 'cancelled', byUserId }));
  }

  /** Queues a throttled progress edit: the first goes out at once, later ones at most every interval. */
  #progress(record: JobRecord, state: JobState): void {
    const shown = this.#stateOf(record.id);
    if (shown.finished) return;
    const shownState = state.kind === 'queued' && shown.resumed ? { ...state, resumed: true } : state;
    shown.pending = { record, payload: { content: progressContent(record, shownState), embeds: [], components: progressComponents(record) } };
    if (shown.timer) return;
    const wait = Math.max(0, shown.lastEditAt + this.#editIntervalMs - Date.now());
    shown.timer = setTimeout(() => this.#flush(shown), wait);
  }

  /** Shows a failure or cancellation at once, replacing any pending progress. */
  #final(record: JobRecord, state: JobState): void {
    const shown = this.#stateOf(record.id);
    this.#cancelPending(shown);
    shown.finished = true;
    this.#enqueue(shown, record, { content: progressContent(record, state), embeds: [], components: [] });
    void shown.chain.then(() => this.#shown.delete(record.id));
  }

  #flush(shown: Shown): void {
    shown.timer = undefined;
    const pending = shown.pending;
    shown.pending = undefined;
    if (pending && !shown.finished) this.#enqueue(shown, pending.record, pending.payload);
  }

  #enqueue(shown: Shown, record: JobRecord, payload: ViewPayload): void {
    shown.chain = shown.chain.then(async () => {
      shown.lastEditAt = Date.now();
      try {
        const view = this.#viewOf(record, shown);
        if (!view.editable) return; // the interaction's reply can no longer be edited
        const messageId = await view.show(payload);
        if (messageId !== undefined && messageId !== shown.messageId) {
          shown.messageId = messageId;
          await this.#jobs.attachMessage(record.id, messageId);
        }
      } catch (error) {
        // A failed progress edit must never fail the job; the next edit or the result tries again.
        this.#log.warn({ err: error, jobId: record.id }, 'could not update the job message');
      }
    });
  }

  #viewOf(record: JobRecord, shown: Shown): JobView {
    return new JobView(this.#client, { ...record, messageId: shown.messageId ?? record.messageId });
  }

  #stateOf(jobId: string): Shown {
    let shown = this.#shown.get(jobId);
    if (!shown) {
      shown = { chain: Promise.resolve(), lastEditAt: 0, finished: false, resumed: false };
      this.#shown.set(jobId, shown);
    }
    return shown;
  }

  #cancelPending(shown: Shown): void {
    clearTimeout(shown.timer);
    shown.timer = undefined;
    shown.pending = undefined;
  }
}

/** Discord's upload limit for a bot message outside interactions (servers without boosts). */
const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;
