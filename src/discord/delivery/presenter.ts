import { AttachmentBuilder, type Client } from 'discord.js';
import type { GeneratedImages } from '../../generator/generator.js';
import type { JobRecord } from '../../jobs/job-record.js';
import type { Delivery } from '../../jobs/deliveries.js';
import type { JobPresenter, JobService } from '../../jobs/job-service.js';
import { resultFiles } from './result-files.js';
import type { Logger } from '../../log.js';
import { isTransientDiscordError, withBackoff } from './discord-retry.js';
import { failureText } from './failure-text.js';
import { JobView, type ViewPayload } from './job-view.js';
import { progressComponents, progressContent, resultComponents, resultEmbed, uploadNote, type JobState } from './render.js';
import { SPOILER_WARNING, withheldComponents, withheldContent, withheldPrivately } from './content-notices.js';
import type { Screening } from '../../jobs/content-screen.js';
import { encodePng, type Rgb8Image } from '../../pipeline/index.js';

/**
 * What the presenter remembers of a job while it is shown. The job shows on one surface: its interaction's
 * reply, a channel message the bot posted for it, or (once that is gone) none until the result is posted.
 */
interface Shown {
  /** Edits run one after another, in order. */
  chain: Promise<void>;
  lastEditAt: number;
  timer?: NodeJS.Timeout | undefined;
  pending?: { record: JobRecord; payload: ViewPayload } | undefined;
  surface: 'reply' | 'posted' | 'none';
  /** The interaction reply's id, once known: later posts reply to it. */
  replyId?: string | undefined;
  /** The channel message the bot posted for the job (surface `posted`). */
  postedId?: string | undefined;
  /** Whether a progress update may post a channel message when there is no surface. */
  mayPost: boolean;
  /** Messages posted so far, for each post's nonce. */
  posts: number;
  /** The message id last stored for the job, so that it is stored once. */
  attachedId?: string | undefined;
  finished: boolean;
  /** Resumed after a restart: the member keeps being told while the job waits. */
  resumed: boolean;
  /** The latest preview of the pictures as they form, shown with the next progress edit. */
  preview?: Rgb8Image | undefined;
  /** When the last edit that carried a preview was done. */
  previewAt: number;
}

/**
 * Shows every job in Discord: its place in line and progress while it waits and runs (at most one edit per
 * job every `editIntervalMs`, the latest state winning), then its result or why it failed.
 *
 * Progress is best effort: a reply that was deleted or whose token expired is not edited again. A job resumed
 * after a restart tells its member in the channel even when the reply can no longer be edited. Results and
 * failures always reach the member: through the reply, or a new channel message, retried while Discord fails.
 */
export class DiscordPresenter implements JobPresenter {
  readonly #client: Client<true>;
  readonly #jobs: JobService;
  readonly #log: Logger;
  readonly #editIntervalMs: number;
  readonly #shown = new Map<string, Shown>();
  /** Jobs shown to their end recently (oldest first). */
  readonly #ended = new Set<string>();
  /** Aborted on close: pending retries give up so that shutdown is not held up by a Discord outage. */
  readonly #closing = new AbortController();

  constructor(client: Client<true>, jobs: JobService, log: Logger, editIntervalMs: number) {
    this.#client = client;
    this.#jobs = jobs;
    this.#log = log;
    this.#editIntervalMs = editIntervalMs;
    this.#listen();
  }

  /**
   * Shows a finished job's result: through its reply, or a new channel message, retried while Discord fails (about a
   * minute). What still fails is reported, transient or not, for the delivery step to retry later. With `spoiler`
   * the files are spoilers (Discord's `SPOILER_` name prefix) under a content warning.
   */
  deliver(record: JobRecord, images: GeneratedImages, signal: AbortSignal, options: { readonly spoiler: boolean }): Promise<Delivery> {
    return this.#showEnd(record, signal, 'the result', async (limit) => {
      const files = await resultFiles(record.id, images, limit);
      return {
        content: options.spoiler ? `<@${record.origin.userId}>\n${SPOILER_WARNING}` : `<@${record.origin.userId}>`,
        embeds: [resultEmbed(record, uploadNote(files, limit))],
        components: resultComponents(record),
        files: files.map((file) => new AttachmentBuilder(Buffer.from(file.bytes), { name: `${options.spoiler ? 'SPOILER_' : ''}${file.name}` })),
      };
    });
  }

  /**
   * Shows a neutral notice where a blocked result would have been (its ℹ️ is for moderators), then tells the member
   * why, privately, while the interaction allows it (a 🎲 reaction's job has no private channel).
   */
  async withhold(record: JobRecord, screening: Screening, signal: AbortSignal): Promise<Delivery> {
    const shown = await this.#showEnd(record, signal, 'the withheld notice', () =>
      Promise.resolve({ content: withheldContent(record), embeds: [], components: withheldComponents(record) }),
    );
    if (shown.ok) {
      await new JobView(this.#client, record)
        .tellPrivately(withheldPrivately(screening))
        .catch((error: unknown) => this.#log.warn({ err: error, jobId: record.id }, 'could not tell the member why the result was withheld'));
    }
    return shown;
  }

  /** Shows a job's last message (`payloadFor` the upload limit that applies), reporting a failure as a `Delivery`. */
  async #showEnd(record: JobRecord, signal: AbortSignal, what: string, payloadFor: (uploadLimit: number) => Promise<ViewPayload>): Promise<Delivery> {
    try {
      return { ok: true, messageId: await this.#showLast(record, signal, payloadFor) };
    } catch (error) {
      const transient = isTransientDiscordError(error) || signal.aborted || this.#closing.signal.aborted;
      this.#log.warn({ err: error, jobId: record.id, transient }, `could not deliver ${what}`);
      return { ok: false, transient, error };
    }
  }

  async #showLast(record: JobRecord, signal: AbortSignal, payloadFor: (uploadLimit: number) => Promise<ViewPayload>): Promise<string> {
    const shown = this.#stateOf(record);
    this.#cancelPending(shown);
    shown.finished = true;
    await shown.chain;
    const view = new JobView(this.#client, record);
    const viaReply = shown.surface === 'reply' && view.tokenAlive;
    const payload = await payloadFor(viaReply ? (record.origin.interaction?.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT) : DEFAULT_UPLOAD_LIMIT);
    const messageId = await withBackoff(
      async () => (await this.#edit(shown, record, payload)) ?? (await this.#post(shown, record, payload, 'end')),
      {
        signal: AbortSignal.any([signal, this.#closing.signal]),
        onRetry: (error, waitMs) => this.#log.warn({ err: error, jobId: record.id, waitMs }, 'Discord failed; retrying the result'),
      },
    );
    this.#forget(record.id);
    return messageId;
  }

  /**
   * Stops showing jobs: drops the progress edits not yet sent (a late one would overwrite the result that the
   * next start delivers), gives up pending retries, and waits for the edits under way.
   */
  async close(): Promise<void> {
    this.#closing.abort();
    for (const shown of this.#shown.values()) this.#cancelPending(shown);
    await Promise.all([...this.#shown.values()].map((shown) => shown.chain));
  }

  #listen(): void {
    const jobs = this.#jobs;
    const queued = (record: JobRecord, position: number, etaMs: number): JobState => ({ kind: 'queued', position, etaMs, modelAwayMs: jobs.modelAwayMs(record) });
    jobs.on('queued', (record, position, etaMs) => this.#progress(record, queued(record, position, etaMs)));
    jobs.on('position', (record, position, etaMs) => this.#progress(record, queued(record, position, etaMs)));
    jobs.on('resumed', (record, position, etaMs) => {
      const shown = this.#stateOf(record);
      shown.resumed = true;
      shown.mayPost = true;
      this.#progress(record, queued(record, position, etaMs));
    });
    jobs.on('started', (record, total) => this.#progress(record, { kind: 'running', step: 0, total, etaMs: 0 }));
    // At once: a model loads once in a while, and the member should know why the first step takes longer.
    jobs.on('preparing', (record) => this.#progress(record, { kind: 'preparing' }, { now: true }));
    jobs.on('progress', (record, step, total, etaMs) => this.#progress(record, { kind: 'running', step, total, etaMs }));
    jobs.on('preview', (record, preview) => {
      const shown = this.#shown.get(record.id);
      if (shown && !shown.finished) shown.preview = preview;
    });
    jobs.on('failed', (record) => this.#final(record, { kind: 'failed', message: failureText(record.failure) }));
    jobs.on('cancelled', (record, byUserId) => this.#final(record, { kind: 'cancelled', byUserId }));
  }

  /** Queues a throttled progress edit: the first goes out at once (or one shown `now`), later ones at most every interval. */
  #progress(record: JobRecord, state: JobState, { now = false }: { readonly now?: boolean } = {}): void {
    // An event relayed after the job's end (or after close) must not undo its result.
    if (this.#ended.has(record.id) || this.#closing.signal.aborted) return;
    const shown = this.#stateOf(record);
    if (shown.finished) return;
    // The notice stays while the job's model is prepared and while it runs too: a resumed job often starts before its
    // first edit goes out.
    const shownState = (state.kind === 'queued' || state.kind === 'preparing' || state.kind === 'running') && shown.resumed ? { ...state, resumed: true } : state;
    shown.pending = { record, payload: { content: progressContent(record, shownState), embeds: [], components: progressComponents(record) } };
    if (now) {
      clearTimeout(shown.timer);
      return this.#flush(shown);
    }
    if (shown.timer) return;
    const wait = Math.max(0, shown.lastEditAt + this.#editInterval(shown) - Date.now());
    shown.timer = setTimeout(() => this.#flush(shown), wait);
  }

  /**
   * The time between two progress edits of one job: `editIntervalMs`, or longer while many jobs are shown, so that
   * progress edits stay under {@link PROGRESS_EDITS_PER_SECOND} in all. Every job start moves every waiting job, and
   * discord.js sends at most 50 requests a second: unchecked, a long queue's position edits would hold up the results.
   * An edit that carries a preview uploads it: those are at least {@link PREVIEW_EDIT_INTERVAL_MS} apart.
   */
  #editInterval(shown: Shown): number {
    const floor = shown.preview ? PREVIEW_EDIT_INTERVAL_MS : 0;
    return Math.max(this.#editIntervalMs, floor, (this.#shown.size * 1000) / PROGRESS_EDITS_PER_SECOND);
  }

  /**
   * Shows a failure or cancellation at once, replacing any pending progress. A failure reaches the member even
   * when the reply is gone; a cancellation (which the member or a moderator did) only replaces what is shown.
   */
  #final(record: JobRecord, state: JobState): void {
    const shown = this.#stateOf(record);
    this.#cancelPending(shown);
    shown.finished = true;
    const payload = { content: progressContent(record, state), embeds: [], components: [] };
    this.#enqueue(shown, record, payload, { last: true, mustShow: state.kind === 'failed' });
    void shown.chain.then(() => this.#forget(record.id));
  }

  #flush(shown: Shown): void {
    shown.timer = undefined;
    const pending = shown.pending;
    shown.pending = undefined;
    if (pending && !shown.finished) this.#enqueue(shown, pending.record, pending.payload, { last: false, mustShow: false, preview: shown.preview });
  }

  /**
   * Queues an update of the job's surface. One that `mustShow` (a failure) posts a message when there is no
   * surface and is retried while Discord fails; progress posts only while `shown.mayPost`. A `last` update is the
   * job's final message (a failure or cancellation).
   */
  #enqueue(
    shown: Shown,
    record: JobRecord,
    shownPayload: ViewPayload,
    { last, mustShow, preview }: { readonly last: boolean; readonly mustShow: boolean; readonly preview?: Rgb8Image | undefined },
  ): void {
    shown.chain = shown.chain.then(async () => {
      shown.lastEditAt = Date.now();
      try {
        // Every edit replaces the message's files: the preview goes with progress edits (those an interval after the
        // last one's end, so that Discord gets them that far apart), and the end drops it.
        const withPreview = preview !== undefined && Date.now() - shown.previewAt >= PREVIEW_EDIT_INTERVAL_MS;
        const payload = withPreview ? { ...shownPayload, files: [await previewFile(record, preview)] } : shownPayload;
        const show = async () =>
          (await this.#edit(shown, record, payload)) ??
          (mustShow || shown.mayPost ? await this.#post(shown, record, payload, last ? 'end' : 'progress') : undefined);
        const messageId = mustShow
          ? await withBackoff(show, {
              signal: this.#closing.signal,
              onRetry: (error, waitMs) => this.#log.warn({ err: error, jobId: record.id, waitMs }, 'Discord failed; retrying'),
            })
          : await show();
        if (withPreview) shown.previewAt = Date.now();
        if (messageId !== undefined && messageId !== shown.attachedId) {
          shown.attachedId = messageId;
          await this.#jobs.attachMessage(record.id, messageId);
        }
      } catch (error) {
        // A failed progress edit must never fail the job; the next edit or the result tries again.
        this.#log.warn({ err: error, jobId: record.id }, 'could not update the job message');
      }
    });
  }

  /** Shows `payload` on the job's surface; undefined when it has none (any more). */
  async #edit(shown: Shown, record: JobRecord, payload: ViewPayload): Promise<string | undefined> {
    const view = new JobView(this.#client, record);
    if (shown.surface === 'reply') {
      const id = await view.editReply(payload);
      if (id !== undefined) {
        shown.replyId = id;
        return id;
      }
      shown.surface = 'none'; // deleted by a moderator, or the token expired
    }
    if (shown.surface === 'posted' && shown.postedId !== undefined) {
      const id = await view.editPosted(shown.postedId, payload);
      if (id !== undefined) return id;
      shown.surface = 'none';
    }
    return undefined;
  }

  /**
   * Posts `payload` as a new channel message, which becomes the job's surface. A job's last message (result,
   * notice or failure) has one nonce for good: the same post after a restart, when the bot died before it heard
   * that Discord took the first, gives the message Discord made then. Progress posts are numbered.
   */
  async #post(shown: Shown, record: JobRecord, payload: ViewPayload, which: 'end' | 'progress'): Promise<string> {
    const replyTo = shown.replyId ?? record.origin.replyToMessageId;
    const nonce = which === 'end' ? 'end' : `progress ${shown.posts}`;
    const id = await new JobView(this.#client, record).post(payload, { nonce, replyTo });
    shown.posts += 1;
    shown.surface = 'posted';
    shown.postedId = id;
    shown.mayPost = false; // progress edits it from now on; if it is deleted, progress stops
    return id;
  }

  #stateOf(record: JobRecord): Shown {
    let shown = this.#shown.get(record.id);
    if (!shown) {
      const { interaction } = record.origin;
      shown = {
        chain: Promise.resolve(),
        lastEditAt: 0,
        surface: interaction ? 'reply' : record.messageId ? 'posted' : 'none',
        replyId: interaction ? record.messageId : undefined,
        postedId: interaction ? undefined : record.messageId,
        attachedId: record.messageId,
        // A job without an interaction (a 🎲 reaction) has no reply: its first update posts its message.
        mayPost: !interaction,
        posts: 0,
        finished: false,
        resumed: false,
        previewAt: 0,
      };
      this.#shown.set(record.id, shown);
    }
    return shown;
  }

  #forget(jobId: string): void {
    this.#shown.delete(jobId);
    this.#ended.add(jobId);
    if (this.#ended.size > REMEMBERED_ENDED) {
      const [oldest] = this.#ended;
      if (oldest !== undefined) this.#ended.delete(oldest);
    }
  }

  #cancelPending(shown: Shown): void {
    clearTimeout(shown.timer);
    shown.timer = undefined;
    shown.pending = undefined;
  }
}

/** Progress edits per second across all jobs: under half of discord.js's 50 requests a second. */
const PROGRESS_EDITS_PER_SECOND = 20;

/** A preview as a PNG file: one the content filter has not seen is a spoiler unless the channel's policy allows it. */
async function previewFile(record: JobRecord, preview: Rgb8Image): Promise<AttachmentBuilder> {
  const name = record.request.previews === 'plain' ? 'preview.png' : 'SPOILER_preview.png';
  return new AttachmentBuilder(Buffer.from(await encodePng(preview)), { name });
}

/** The least time between two edits of a job's message that carry a preview (an upload each). */
const PREVIEW_EDIT_INTERVAL_MS = 1500;

/** Ended jobs remembered, so that their late progress events are ignored. */
const REMEMBERED_ENDED = 1000;

/** Discord's upload limit for a bot message outside interactions (servers without boosts). */
const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;
