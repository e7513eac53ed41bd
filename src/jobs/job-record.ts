import { z } from 'zod';
import { generationRequestSchema } from '../generator/request.js';
import { queueFactsSchema } from '../queue/index.js';

/** Where a job came from and where its result goes: enough to answer after a restart. */
export const jobOriginSchema = z.object({
  userId: z.string(),
  /** Display name at the time of the command, for the embed. */
  userName: z.string(),
  guildId: z.string().nullable(),
  channelId: z.string(),
  /** The interaction to answer through while its token lives (15 minutes from `createdAt`). */
  interaction: z
    .object({
      applicationId: z.string(),
      token: z.string(),
      createdAt: z.number(),
      /** Largest upload Discord accepts for this interaction, in bytes. */
      attachmentSizeLimit: z.number().int().min(1),
    })
    .optional(),
  /** The message this job replies to (a 🎲 reroll answers the result it was rolled on). */
  replyToMessageId: z.string().optional(),
  /**
   * Whether the channel is age-restricted (Discord's NSFW flag), as it was when the job was asked for: the content
   * policy applies `nsfw` there and `nsfwOutside` elsewhere. Records written before issue 20 have none (= not).
   */
  ageRestricted: z.boolean().optional(),
  /** How the job was started. */
  via: z.enum(['command', 'reroll-button', 'reroll-reaction', 'variation-button', 'upscale-button', 'outpaint-button']),
});
export type JobOrigin = z.infer<typeof jobOriginSchema>;

/** What was asked, by whom, and where to answer: the queue's payload, enough to run and answer after a restart. */
export const ticketSchema = z.object({
  request: generationRequestSchema,
  origin: jobOriginSchema,
  /** Messages about the request itself: clamped values, removed prompt syntax, truncation. */
  notices: z.array(z.string()),
});
export type JobTicket = z.infer<typeof ticketSchema>;

/** The queue takes turns across guilds: jobs asked in direct messages take theirs as this one. */
export const DIRECT_MESSAGES = 'direct-messages';

/** The bot's one record of a job, by job id: the request, who asked, where it stands in the queue, what came of it. */
export const jobRecordSchema = ticketSchema.extend({
  id: z.string(),
  createdAt: z.number(),
  /**
   * The queue's facts while the job waits or runs (turn order, attempts, whether it held a slot), written through
   * the queue's journal (`queue-journal.ts`); gone once the job leaves the queue.
   */
  queue: queueFactsSchema.optional(),
  /**
   * `undelivered`: the pictures are made and stored (the GPU slot is free), and wait to be shown in Discord; see
   * `deliveries.ts`. `completed`: shown. `blocked`: withheld by the content policy, its pictures deleted.
   */
  status: z.enum(['queued', 'running', 'undelivered', 'completed', 'blocked', 'failed', 'cancelled']),
  /** The message that shows the job (progress, then the result). */
  messageId: z.string().optional(),
  result: z
    .object({
      seeds: z.array(z.string()),
      model: z.string(),
      durationMs: z.number(),
      finishedAt: z.number(),
      /** Each picture's A1111 infotext, to rebuild its PNG when the delivery resumes after a restart. */
      parameters: z.array(z.string()).optional(),
    })
    .optional(),
  /** Why it failed, as data (`src/failure.ts`); records written before issue 14 carry a `message` instead. */
  failure: z
    .object({
      code: z.string(),
      details: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
      message: z.string().optional(),
    })
    .optional(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

export type JobStatus = JobRecord['status'];

/**
 * How far along each status is: a job moves forward, never back (waiting and running alternate across restarts).
 * Stage 2 statuses are ends. A write that would move a job back is a late one — e.g. the runner storing its result
 * after the member cancelled — and is dropped rather than undoing what came after it.
 */
export const STATUS_STAGE: Readonly<Record<JobStatus, 0 | 1 | 2>> = {
  queued: 0,
  running: 0,
  undelivered: 1,
  completed: 2,
  blocked: 2,
  failed: 2,
  cancelled: 2,
};

/** Whether a job in status `from` may be put in status `to`. */
export function canMove(from: JobStatus, to: JobStatus): boolean {
  if (STATUS_STAGE[from] === 2) return from === to;
  return STATUS_STAGE[to] >= STATUS_STAGE[from];
}
