import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { JobQueue, type BatchJob, type BatchRunner, type BatchSettings, type Job, type JobContext, type WorkQueue } from '../queue/index.js';
import type { Collection, Store } from '../store/index.js';
import { servedModel, type GenerateOptions, type GeneratedImages, type ImageGenerator } from '../generator/generator.js';
import type { InputStore } from '../inputs/input-store.js';
import type { ContentScreen, Screening } from './content-screen.js';
import { Deliveries, type DeliveryOutcomes, type ResultPresenter } from './deliveries.js';
import { DIRECT_MESSAGES, ticketSchema, type JobRecord, type JobTicket } from './job-record.js';
import { JobRecords, type RecordChange, type StoredChange } from './job-records.js';
import { acceptedRecord, RecordJournal } from './queue-journal.js';
import type { Result } from '../refusal.js';
import type { Rgb8Image, SchedulerConfig } from '../pipeline/index.js';
import { batchKeyOf, modelCallsOf, unetRowsOf } from '../generator/request.js';
import { outputSize } from '../generator/working-size.js';

/** How long a member's action on a result just shown waits for its delivery to end (its record to say so). */
const DELIVERY_WAIT_MS = 15_000;

/**
 * The scheduler config of the model `name` (the default without one) — or of the default when that model is no
 * longer served: the job then fails when it runs, and its cost only orders the queue meanwhile.
 */
function schedulerConfigOf(generator: ImageGenerator, name: string | undefined): SchedulerConfig {
  const model = servedModel(generator.models, name) ?? servedModel(generator.models, undefined);
  return model?.schedulerConfig ?? {};
}

/**
 * The name of the model a job runs on: the one it names, or (records made before models could be picked name none)
 * the default, whichever model that is when the job starts; '' when it names none and no model is served.
 */
function modelNameOf(generator: ImageGenerator, { request }: JobTicket): string {
  return servedModel(generator.models, request.model)?.name ?? request.model ?? '';
}

/** Where not every slot runs every model (GPU workers): whether a job has room beside the running ones, by model. */
function roomOf(generator: ImageGenerator): ((ticket: JobTicket, running: readonly JobTicket[]) => boolean) | undefined {
  if (!generator.hasRoom) return undefined;
  return (ticket, running) => generator.hasRoom?.(modelNameOf(generator, ticket), running.map((other) => modelNameOf(generator, other))) ?? true;
}

/** The events that end a job's delivery: after each, its record no longer changes. */
const DELIVERY_ENDS = ['completed', 'blocked', 'failed', 'cancelled'] as const;

/** Shows jobs to the members who asked: the Discord layer implements it (progress follows the events below). */
export type JobPresenter = ResultPresenter;

export interface JobServiceOptions {
  readonly store: Store;
  readonly generator: ImageGenerator;
  /** Where jobs find the pictures they start from, and where each result's pictures are kept for 🔀. */
  readonly inputs: InputStore;
  /** GPU slots (`QUEUE_CONCURRENCY`). */
  readonly concurrency: number;
  /**
   * UNet rows a batch of compatible jobs may take (`BATCH_MAX_ROWS`; GPU workers may take fewer, see
   * `ImageGenerator.batchRowsOf`); below 2, or with a generator that cannot batch, every job runs alone. @default 0
   */
  readonly batchMaxRows?: number;
  /** Waiting jobs in all before new ones are refused. */
  readonly maxQueued: number;
  /** A job running longer than this fails. */
  readonly jobTimeoutMs: number;
  /** The content policy every result passes before it is shown. */
  readonly screen: ContentScreen;
}

/** Events for the presenter, each with the job's current record. */
export type JobServiceEvents = {
  queued: [record: JobRecord, position: number, etaMs: number];
  position: [record: JobRecord, position: number, etaMs: number];
  /** `total`: the model calls the job makes, the unit of its 'progress'. */
  started: [record: JobRecord, total: number];
  /** The job's model is being prepared (loaded, converted first on its first use) before its first step. */
  preparing: [record: JobRecord];
  progress: [record: JobRecord, step: number, total: number, etaMs: number];
  /** A preview of the pictures as they form (jobs queued with `previews`), after the step's 'progress'. */
  preview: [record: JobRecord, preview: Rgb8Image];
  /** `record.failure` says why, as data (see `src/failure.ts`). */
  failed: [record: JobRecord];
  cancelled: [record: JobRecord, byUserId: string];
  resumed: [record: JobRecord, position: number, etaMs: number, wasRunning: boolean];
  completed: [record: JobRecord];
  /** The content classifier flagged a result; `screening.action` says what the policy did with it (audit). */
  screened: [record: JobRecord, screening: Screening];
  /** The content policy withheld the result; its pictures are deleted. */
  blocked: [record: JobRecord];
  /** A background store write of the queue failed; the job it concerned goes on in memory. */
  error: [error: unknown];
};

/**
 * The generation use case shared by every entry point (slash commands, 🎲 buttons and reactions): accepts a
 * validated request into the fair queue, runs it on the generator (the GPU slot is held until the pictures are
 * stored, no longer), hands the pictures to the delivery step (`deliveries.ts`), and keeps a record of every job by
 * id and by result message, so buttons and reactions work after a restart.
 */
export class JobService extends EventEmitter<JobServiceEvents> {
  /** The in-process queue today; any `WorkQueue` (a distributed one later) fits here. */
  readonly #queue: WorkQueue<JobTicket, GeneratedImages>;
  readonly #records: JobRecords;
  readonly #journal: RecordJournal;
  readonly #byMessage: Collection<string>;
  readonly #generator: ImageGenerator;
  readonly #inputs: InputStore;
  readonly #batchMaxRows: number;
  #deliveries: Deliveries | undefined;

  private constructor(
    queue: WorkQueue<JobTicket, GeneratedImages>,
    records: JobRecords,
    journal: RecordJournal,
    byMessage: Collection<string>,
    generator: ImageGenerator,
    inputs: InputStore,
    batchMaxRows: number,
  ) {
    super();
    this.#queue = queue;
    this.#records = records;
    this.#journal = journal;
    this.#byMessage = byMessage;
    this.#generator = generator;
    this.#inputs = inputs;
    this.#batchMaxRows = batchMaxRows;
  }

  static async open(options: JobServiceOptions): Promise<JobService> {
    const records = await JobRecords.open(options.store);
    const byMessage = await options.store.collection('job-messages', { schema: z.string(), version: 1 });
    // The queue needs its runner before the service exists; the runner reaches the service through this.
    const self: { service?: JobService } = {};
    const journal = await RecordJournal.open(options.store, records);
    const queue = await JobQueue.open<JobTicket, GeneratedImages>({
      journal,
      payloadSchema: ticketSchema,
      runner: (job, context) => {
        if (!self.service) throw new Error('JobService is not open yet.');
        return self.service.#run(job, context);
      },
      // Model calls, not steps: the unit the progress reports count in (Heun and DPM2 make two per step).
      costOf: ({ request }) => ({
        steps: modelCallsOf(request, schedulerConfigOf(options.generator, request.model)),
        pixels: pixelsOf(outputSize(request)),
        count: request.count,
      }),
      batching: batchingOf(options, (jobs) => {
        if (!self.service) throw new Error('JobService is not open yet.');
        return self.service.#runBatch(jobs);
      }),
      hasRoom: roomOf(options.generator),
      concurrency: options.concurrency,
      maxQueued: options.maxQueued,
      jobTimeoutMs: options.jobTimeoutMs,
    });
    const service = new JobService(queue, records, journal, byMessage, options.generator, options.inputs, options.batchMaxRows ?? 0);
    self.service = service;
    service.#deliveries = await Deliveries.open(options.store, options.inputs, service.#deliveryOutcomes(), options.screen);
    service.#forwardQueueEvents();
    return service;
  }

  /**
   * Sets who shows jobs, then re-queues the jobs of the last run (emitting 'resumed') and starts running, and
   * delivers the results the last run could not.
   */
  async start(presenter: JobPresenter): Promise<void> {
    await this.#queue.start();
    await this.#delivery().start(presenter, (jobId) => this.#records.get(jobId));
  }

  /** Accepts a job, or refuses it (queue full, member's waiting limit) with a message the member can read. */
  async submit(
    ticket: JobTicket,
    limits: { readonly maxQueuedPerMember: number },
  ): Promise<Result<{ record: JobRecord; position: number; etaMs: number }>> {
    const submitted = await this.#queue.submit({
      ownerId: ticket.origin.userId,
      guildId: ticket.origin.guildId ?? DIRECT_MESSAGES,
      channelId: ticket.origin.channelId,
      payload: ticket,
      maxQueuedPerUser: limits.maxQueuedPerMember,
    });
    if (!submitted.ok) return { ok: false, code: 'QUEUE', message: submitted.message };
    const record = await this.#recordOf(submitted.job);
    return { ok: true, record, position: submitted.position, etaMs: submitted.etaMs };
  }

  /** Cancels a waiting or running job for its owner or a moderator. */
  async cancel(jobId: string, byUserId: string, isModerator: boolean): Promise<Result<{ wasRunning: boolean }>> {
    const cancelled = await this.#queue.cancel(jobId, { byUserId, isModerator });
    if (cancelled.ok) return { ok: true, wasRunning: cancelled.wasRunning };
    const code = cancelled.code === 'NOT_OWNER' ? 'NOT_ALLOWED' : 'NOT_FOUND';
    return { ok: false, code, message: cancelled.code === 'NOT_OWNER' ? 'Only the member who asked (or a moderator) can cancel this job.' : cancelled.message };
  }

  /** The record of job `jobId`, if it exists. */
  get(jobId: string): Promise<JobRecord | undefined> {
    return this.#records.get(jobId);
  }

  /**
   * The record of job `jobId` once its delivery has ended, waiting at most `timeoutMs` (then the record as it is).
   * A result is on screen a moment before its record says `completed`: a member who varies it at once must find
   * it finished, not be refused. Only a job whose pictures are being delivered is waited for.
   */
  async delivered(jobId: string, timeoutMs = DELIVERY_WAIT_MS): Promise<JobRecord | undefined> {
    let resolve = () => {};
    const ended = new Promise<void>((settle) => (resolve = settle));
    const onEnd = (record: JobRecord) => record.id === jobId && resolve();
    // Listening before reading: an end between the read and the wait is not missed.
    for (const event of DELIVERY_ENDS) this.on(event, onEnd);
    const timer = setTimeout(resolve, timeoutMs);
    try {
      const record = await this.get(jobId);
      if (record?.status !== 'undelivered') return record;
      await ended;
      return await this.get(jobId);
    } finally {
      clearTimeout(timer);
      for (const event of DELIVERY_ENDS) this.off(event, onEnd);
    }
  }

  /** The job whose progress or result is message `messageId`, once its delivery has ended (see `delivered`). */
  async deliveredByMessage(messageId: string): Promise<JobRecord | undefined> {
    const jobId = await this.#byMessage.get(messageId);
    return jobId === undefined ? undefined : this.delivered(jobId);
  }

  /** The job whose progress or result is message `messageId`. */
  async byMessage(messageId: string): Promise<JobRecord | undefined> {
    const jobId = await this.#byMessage.get(messageId);
    return jobId === undefined ? undefined : this.#records.get(jobId);
  }

  /** Remembers that `messageId` shows job `jobId` (its progress reply, later its result). */
  async attachMessage(jobId: string, messageId: string): Promise<void> {
    await this.#byMessage.set(messageId, jobId);
    await this.#records.change(jobId, (record) => ({ ...record, messageId }));
  }

  /** Runs `concurrency` jobs at once from now on (GPU workers joined or left). */
  resize(concurrency: number): void {
    this.#queue.resize(concurrency);
  }

  /** How long ago the last GPU worker with the job's model left, while none online has it (see `ImageGenerator.awayMs`). */
  modelAwayMs(record: JobRecord): number | undefined {
    const model = servedModel(this.#generator.models, record.request.model);
    return model && this.#generator.awayMs?.(model.name);
  }

  /**
   * The GPU workers or the models on offer changed (see `RemoteGenerator`'s 'models'): a waiting job whose model the
   * bot gave up waiting for fails, as data, freeing its place; the others are shown again, so a job whose model's
   * worker just left says what it waits for at once, not at its next move.
   */
  async modelsChanged(): Promise<void> {
    for (const { job, position, etaMs } of this.#queue.waiting()) {
      const model = modelNameOf(this.#generator, job.payload);
      const waitedMs = model === '' ? undefined : this.#generator.abandonedMs?.(model);
      if (waitedMs !== undefined) {
        await this.#queue.failWaiting(job.id, { code: 'NO_WORKER', transient: false, details: { model, waitedMs } });
      } else {
        this.#report(job, (record) => this.emit('position', record, position, etaMs));
      }
    }
  }

  /** Where `jobId` stands in the queue now (position 0 = running), if it waits or runs. */
  positionOf(jobId: string): { position: number; etaMs: number } | undefined {
    return this.#queue.positionOf(jobId);
  }

  stats(): ReturnType<WorkQueue<JobTicket, GeneratedImages>['stats']> {
    return this.#queue.stats();
  }

  /** The queue's bookkeeping now (see `WorkQueue.inspect`). */
  inspectQueue(): ReturnType<WorkQueue<JobTicket, GeneratedImages>['inspect']> {
    return this.#queue.inspect();
  }

  /**
   * Stops taking jobs; with `drain` running jobs finish, else they are checkpointed to resume at the next start.
   * Deliveries under way give up; the next start delivers them.
   */
  async close(options: { readonly drain: boolean }): Promise<void> {
    await this.#queue.close(options);
    await this.#delivery().close();
  }

  /** Generates a job's pictures and stores them: the GPU slot is free again when this returns. */
  async #run(job: Job<JobTicket>, context: JobContext): Promise<GeneratedImages> {
    const { request } = job.payload;
    return this.#keep(job, await this.#generator.generate(request, await this.#generation(job, context)));
  }

  /**
   * A batch of compatible jobs (`batchKeyOf`) on the generator at once; each job is prepared, generated and kept on
   * its own, as {@link #run} does for one.
   */
  #runBatch(jobs: readonly BatchJob<JobTicket>[]): Promise<GeneratedImages>[] {
    const generator = this.#generator;
    const prepared = jobs.map(({ job, context }) => this.#generation(job, context));
    const started = Promise.allSettled(prepared).then((settled) => {
      const ready = jobs.flatMap(({ job }, index) => {
        const outcome = settled[index];
        return outcome?.status === 'fulfilled' ? [{ index, request: job.payload.request, options: outcome.value }] : [];
      });
      const runs = generator.generateBatch?.(ready, this.#batchMaxRows) ?? ready.map(({ request, options }) => generator.generate(request, options));
      return new Map(ready.map(({ index }, k) => [index, runs[k]]));
    });
    return jobs.map(async ({ job }, index) => {
      await prepared[index];
      const run = (await started).get(index);
      if (!run) throw new Error(`JobService: job ${job.id} of the batch did not run`);
      return this.#keep(job, await run);
    });
  }

  /** Marks the job running and gathers what the generator needs for it. */
  async #generation(job: Job<JobTicket>, context: JobContext): Promise<GenerateOptions> {
    await this.#update(job, (record) => ({ ...record, status: 'running' }));
    const { request } = job.payload;
    return {
      signal: context.signal,
      onProgress: (step, total, preview) => {
        context.reportProgress(step, total);
        if (preview) this.#report(job, (record) => this.emit('preview', record, preview));
      },
      onPreparing: () => {
        this.#report(job, (record) => this.emit('preparing', record));
      },
      inputs: await this.#inputs.inputsOf(request),
      jobId: job.id,
    };
  }

  /** Keeps a job's pictures and marks it for delivery; returns them. */
  async #keep(job: Job<JobTicket>, images: GeneratedImages): Promise<GeneratedImages> {
    // Kept before the result is shown, so its 🔀 button works from the first moment. A store that fails here costs
    // only the 🔀 of this result, not the result.
    await this.#inputs.putResults(job.id, images.images).catch((error: unknown) => this.emit('error', error));
    // Marked first: a crash between the two writes leaves a mark that the next start finds stale and drops.
    await this.#delivery().mark(job.id);
    const stored = await this.#update(job, (record) => finishedRecord(record, images));
    // Cancelled while the pictures were being stored: the job stays cancelled and its pictures are not kept.
    if (!stored.changed) await this.#inputs.deleteResults(job.id, images.images.length).catch((error: unknown) => this.emit('error', error));
    return images;
  }

  #delivery(): Deliveries {
    if (!this.#deliveries) throw new Error('JobService is not open yet.');
    return this.#deliveries;
  }

  #deliveryOutcomes(): DeliveryOutcomes {
    return {
      delivered: async (record: JobRecord, messageId: string) => {
        // The record first: a message found through `byMessage` is already a completed job's.
        const stored = await this.#records.change(record.id, (current) => ({ ...current, status: 'completed', messageId }));
        await this.#byMessage.set(messageId, record.id);
        if (stored?.changed) this.emit('completed', stored.record);
      },
      screened: (record, screening) => this.emit('screened', record, screening),
      blocked: async (record, messageId) => {
        // The record first, as for a delivered result: the notice's message leads to a job already `blocked`.
        const stored = await this.#records.change(record.id, (current) => ({
          ...current,
          status: 'blocked',
          ...(messageId === undefined ? {} : { messageId }),
        }));
        if (messageId !== undefined) await this.#byMessage.set(messageId, record.id);
        await this.#inputs.deleteResults(record.id, record.result?.seeds.length ?? 0);
        if (stored?.changed) this.emit('blocked', stored.record);
      },
      undeliverable: async (record: JobRecord, reason: 'refused' | 'lost') => {
        const stored = await this.#records.change(record.id, (current) => ({
          ...current,
          status: 'failed',
          failure: { code: 'UNDELIVERABLE', details: { reason } },
        }));
        if (stored?.changed) this.emit('failed', stored.record);
      },
      error: (error: unknown) => this.emit('error', error),
    };
  }

  #forwardQueueEvents(): void {
    const queue = this.#queue;
    queue.on('error', (error) => this.emit('error', error));
    const relay = <A extends unknown[]>(handler: (record: JobRecord, ...args: A) => void) =>
      (job: Job<JobTicket>, ...args: A) => {
        this.#recordOf(job).then((record) => handler(record, ...args), (error: unknown) => this.emit('error', error));
      };
    queue.on('queued', ({ job, position, etaMs }) => relay((r) => this.emit('queued', r, position, etaMs))(job));
    queue.on('position', ({ job, position, etaMs }) => this.#report(job, (r) => this.emit('position', r, position, etaMs)));
    // The pictures exist and the slot is free: the delivery step takes the job from here. The record is read as
    // its changes are made (after them, tried again while the store fails): a read lost here would leave the result
    // undelivered until the next start.
    queue.on('completed', ({ job, result }) => {
      this.#recordOf(job).then(
        (record) => record?.status === 'undelivered' && this.#delivery().deliver(record, result),
        (error: unknown) => this.emit('error', error),
      );
    });
    queue.on('started', ({ job }) => relay((r) => this.emit('started', r, job.cost.steps))(job));
    queue.on('progress', ({ job, step, total, etaMs }) => this.#report(job, (r) => this.emit('progress', r, step, total, etaMs)));
    queue.on('resumed', ({ job, position, etaMs, wasRunning }) =>
      relay((r) => this.emit('resumed', r, position, etaMs, wasRunning))(job),
    );
    queue.on('failed', ({ job, failure }) =>
      this.#end(job, (record) => ({ ...record, status: 'failed', failure: { code: failure.code, details: failure.details } }), (record) => this.emit('failed', record)),
    );
    queue.on('cancelled', ({ job, byUserId }) =>
      this.#end(job, (record) => ({ ...record, status: 'cancelled' }), (record) => this.emit('cancelled', record, byUserId)),
    );
  }

  /**
   * Writes the end of a job the queue has ended into its record (one write, see `RecordJournal.end`), then tells
   * (`tell`) with the record as stored. A store failure must not keep the member from being told: the record as
   * accepted, ended, is shown instead.
   */
  #end(job: Job<JobTicket>, end: RecordChange, tell: (record: JobRecord) => void): void {
    // The record is checked in a step of its own, so that a job without one reaches the handler (not an unhandled
    // rejection with the member told nothing); a throw from `tell` itself is reported.
    this.#journal
      .end(job.id, end)
      .then((stored) => queuedJobChange(job, stored))
      .then(
        ({ record, changed }) => changed && tell(record),
        (error: unknown) => {
          this.emit('error', error);
          tell(end(acceptedRecord(job)));
        },
      )
      .catch((error: unknown) => this.emit('error', error));
  }

  /**
   * Shows a progress report of a job the queue holds ('position', 'preparing', 'progress', 'preview') with its
   * record: one read, outside the record's chain of changes and never tried again. During a store outage a report
   * may be lost — the next one, or the job's end, shows — but it must not hold up the state writes behind it.
   */
  #report(job: Job<JobTicket>, show: (record: JobRecord) => void): void {
    this.#records.get(job.id).then(
      (record) => {
        if (record) show(record);
      },
      () => undefined, // dropped, as said above: the state writes report the outage
    );
  }

  /** The record of a job the queue holds, after its pending changes. */
  async #recordOf(job: Job<JobTicket>): Promise<JobRecord> {
    return (await this.#update(job, (record) => record)).record;
  }

  /** Changes the record of a job the queue holds. */
  async #update(job: Job<JobTicket>, change: RecordChange): Promise<StoredChange> {
    return queuedJobChange(job, await this.#records.change(job.id, change));
  }
}

/** The change of the record of `job`, which the queue holds: the queue's journal wrote it when the job was accepted. */
function queuedJobChange(job: Job<JobTicket>, stored: StoredChange | undefined): StoredChange {
  if (!stored) throw new Error(`Job ${job.id} is in the queue but has no record.`);
  return stored;
}

function pixelsOf(size: { readonly width: number; readonly height: number }): number {
  return size.width * size.height;
}

/** `record` with its generated pictures: waiting for delivery, the generator's warnings added to its notices. */
function finishedRecord(record: JobRecord, images: GeneratedImages): JobRecord {
  const notices = [...record.notices, ...images.warnings.filter((warning) => !record.notices.includes(warning))];
  return {
    ...record,
    notices,
    status: 'undelivered',
    result: {
      seeds: images.images.map((image) => image.seed),
      model: images.model,
      durationMs: images.durationMs,
      finishedAt: Date.now(),
      parameters: images.images.map((image) => image.parameters),
    },
  };
}

/**
 * The queue's batching for a generator that can batch and a room of 2 rows or more (`BATCH_MAX_ROWS`): jobs of one
 * `batchKeyOf`, each taking `unetRowsOf` rows. Undefined (every job alone) otherwise.
 */
function batchingOf(options: JobServiceOptions, run: BatchRunner<JobTicket, GeneratedImages>): BatchSettings<JobTicket, GeneratedImages> | undefined {
  const { generator } = options;
  const maxSize = options.batchMaxRows ?? 0;
  if (maxSize < 2 || !generator.generateBatch) return undefined;
  // GPU workers: the batch may land on any worker with the job's model, so the smallest room among them counts.
  const maxSizeOf = generator.batchRowsOf && ((ticket: JobTicket) => generator.batchRowsOf?.(modelNameOf(generator, ticket)) ?? maxSize);
  return { keyOf: ({ request }) => batchKeyOf(request), sizeOf: ({ request }) => unetRowsOf(request), maxSize, maxSizeOf, run };
}
