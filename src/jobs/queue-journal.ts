import { z } from 'zod';
import { jobSchema, type Job, type QueueJournal } from '../queue/index.js';
import type { Collection, Store } from '../store/index.js';
import { DIRECT_MESSAGES, STATUS_STAGE, ticketSchema, type JobRecord, type JobTicket } from './job-record.js';
import type { JobRecords, RecordChange, StoredChange } from './job-records.js';

/**
 * The queue's journal kept on the bot's one job record: the queue's facts (turn order, attempts, state) are a field
 * of the record (`queue`), written through the same serialized changes as everything else about the job, so the
 * two can never disagree. A small index (`queue-live`: job id → turn order) lists the records that carry them, so
 * a start reads only the jobs still in the queue, not every job ever made.
 */
export class RecordJournal implements QueueJournal<JobTicket> {
  readonly #records: JobRecords;
  readonly #live: Collection<number>;
  /** Ids known to be in the index: the index is written once per job, not at every state change. */
  readonly #indexed = new Set<string>();

  private constructor(records: JobRecords, live: Collection<number>) {
    this.#records = records;
    this.#live = live;
  }

  /** The journal on `records`; jobs a bot before issue 14 left in its own `queue-jobs` collection are taken over. */
  static async open(store: Store, records: JobRecords): Promise<RecordJournal> {
    const journal = new RecordJournal(records, await store.collection('queue-live', { schema: z.number().int().min(0), version: 1 }));
    await journal.#adoptLegacy(await store.collection('queue-jobs', { schema: jobSchema(ticketSchema), version: 1 }));
    return journal;
  }

  async load(): Promise<Job<JobTicket>[]> {
    const jobs: Job<JobTicket>[] = [];
    for await (const [jobId] of this.#live.entries()) {
      const record = await this.#records.get(jobId);
      // A crash between clearing the facts and the index leaves an entry behind: it is dropped here, as is a record
      // that left the queue with its facts still on it (written by a bot before its end and its facts went together).
      if (!record?.queue || STATUS_STAGE[record.status] > 0) await this.#live.delete(jobId);
      else {
        this.#indexed.add(jobId);
        jobs.push(jobOf(record, record.queue));
      }
    }
    return jobs;
  }

  async put(job: Job<JobTicket>): Promise<void> {
    // The index first: a crash before the record is written leaves an entry that `load` drops.
    if (!this.#indexed.has(job.id)) {
      await this.#live.set(job.id, job.seq);
      this.#indexed.add(job.id);
    }
    const { cost, seq, attempts, state } = job;
    await this.#records.change(job.id, (record) => ({ ...record, queue: { cost, seq, attempts, state } }), acceptedRecord(job));
  }

  /**
   * The queue is done with the job. A job still waiting or running on its record keeps its facts until its end is
   * stored (`end`, which the job service writes next): should that write fail, a restart resumes the job instead
   * of leaving a record that says it waits or runs for ever. A job handed to the delivery already left them.
   */
  async delete(jobId: string): Promise<void> {
    const stored = await this.#records.change(jobId, (record) => record);
    if (!stored?.record.queue) await this.#forget(jobId);
  }

  /** Ends job `jobId` as `change` says: one write of its record, which leaves the queue in it (`JobRecords.end`). */
  async end(jobId: string, change: RecordChange): Promise<StoredChange | undefined> {
    const stored = await this.#records.end(jobId, change);
    await this.#forget(jobId);
    return stored;
  }

  flush(): Promise<void> {
    return this.#records.flush();
  }

  /** Takes `jobId` out of the index, once its record no longer carries queue facts. */
  async #forget(jobId: string): Promise<void> {
    await this.#live.delete(jobId);
    this.#indexed.delete(jobId);
  }

  async #adoptLegacy(legacy: Collection<Job<JobTicket>>): Promise<void> {
    for await (const [jobId, job] of legacy.entries()) {
      await this.put(job);
      await legacy.delete(jobId);
    }
  }
}

/** A job's record as it is when the queue accepts it: what was asked, waiting. */
export function acceptedRecord(job: Job<JobTicket>): JobRecord {
  return { id: job.id, ...job.payload, createdAt: job.acceptedAt, status: 'queued' };
}

/** The queue's job for a record that carries queue facts. */
function jobOf(record: JobRecord, facts: NonNullable<JobRecord['queue']>): Job<JobTicket> {
  const { request, origin, notices } = record;
  return {
    id: record.id,
    ownerId: origin.userId,
    guildId: origin.guildId ?? DIRECT_MESSAGES,
    channelId: origin.channelId,
    payload: { request, origin, notices },
    acceptedAt: record.createdAt,
    ...facts,
  };
}
