import type { JobOutcome, Placement } from './events.js';
import type { Job } from './job.js';

/** A request for a job. */
export interface JobRequest<P> {
  readonly ownerId: string;
  readonly guildId: string;
  readonly channelId?: string;
  readonly payload: P;
  /** This guild's limit of waiting jobs per member, overriding the queue's `maxQueuedPerUser`. Minimum: 1. */
  readonly maxQueuedPerUser?: number;
}

/** Why a request was refused: `USER_LIMIT` and `QUEUE_FULL` carry the limit that was reached. */
export type SubmitRefusalCode = 'USER_LIMIT' | 'QUEUE_FULL' | 'SHUTTING_DOWN';

/** Why a cancel was refused. */
export type CancelRefusalCode = 'NOT_FOUND' | 'NOT_OWNER' | 'ALREADY_DONE';

/** An expected refusal: a code for the bot and a message a member can read. */
export interface Refusal<C extends string> {
  readonly ok: false;
  readonly code: C;
  readonly message: string;
  /** The limit that was reached, for `USER_LIMIT` and `QUEUE_FULL`. */
  readonly limit?: number;
}

export type SubmitResult<P, R> =
  | ({
      readonly ok: true;
      readonly job: Job<P>;
      /** Settles when the job ends in this process; never rejects. */
      readonly outcome: Promise<JobOutcome<P, R>>;
    } & Placement)
  | Refusal<SubmitRefusalCode>;

export type CancelResult<P> = { readonly ok: true; readonly job: Job<P>; readonly wasRunning: boolean } | Refusal<CancelRefusalCode>;

/** Who asks for a cancel. The bot decides whether they moderate the job's guild. */
export interface Canceller {
  readonly byUserId: string;
  /** @default false */
  readonly isModerator?: boolean;
}

export function userLimitReached(waiting: number, limit: number): Refusal<'USER_LIMIT'> {
  const jobs = waiting === 1 ? '1 job' : `${waiting} jobs`;
  return { ok: false, code: 'USER_LIMIT', message: `You already have ${jobs} waiting (the limit is ${limit}).`, limit };
}

export function queueFull(limit: number): Refusal<'QUEUE_FULL'> {
  return {
    ok: false,
    code: 'QUEUE_FULL',
    message: `The queue is full (${limit} jobs waiting). Please try again in a few minutes.`,
    limit,
  };
}

export const SHUTTING_DOWN: Refusal<'SHUTTING_DOWN'> = {
  ok: false,
  code: 'SHUTTING_DOWN',
  message: 'The bot is restarting and not taking new jobs. Please try again in a minute.',
};

export function notFound(jobId: string): Refusal<'NOT_FOUND'> {
  return { ok: false, code: 'NOT_FOUND', message: `There is no job ${jobId} waiting or running.` };
}

export const NOT_OWNER: Refusal<'NOT_OWNER'> = {
  ok: false,
  code: 'NOT_OWNER',
  message: 'Only the member who asked for this job, or a moderator, can cancel it.',
};

export const ALREADY_DONE: Refusal<'ALREADY_DONE'> = {
  ok: false,
  code: 'ALREADY_DONE',
  message: 'That job has already finished or been cancelled.',
};
