import { z, type ZodType } from 'zod';
import { expectInteger } from './checks.js';

/**
 * How much work a job is, for ETAs. Durations are modelled as proportional to steps × pixels × count
 * ({@link costUnits}); the queue learns the factor from finished jobs.
 */
export interface JobCost {
  /** Work steps, in the unit the runner reports progress in (for the bot: model calls). Minimum: 1. */
  readonly steps: number;
  /** Pixels of one output image (width × height). Minimum: 1. */
  readonly pixels: number;
  /** Images made by the job. Minimum: 1. */
  readonly count: number;
}

/** `queued`: waiting for a GPU slot. `running`: holds a slot (in a stored record: was running when last written). */
export type JobState = 'queued' | 'running';

/**
 * One accepted job, as the queue keeps it in memory and in the store. `P` is the bot's request (plain JSON data).
 * Snapshots are immutable: a change of state produces a new object.
 */
export interface Job<P> {
  /** Random UUID, unique across restarts. */
  readonly id: string;
  /** The member who asked; only they (or a moderator) may cancel. */
  readonly ownerId: string;
  /** The guild the request came from; jobs take turns across guilds, then across members. */
  readonly guildId: string;
  /** Where the bot answers; the queue only keeps it. */
  readonly channelId?: string | undefined;
  readonly payload: P;
  readonly cost: JobCost;
  /** Acceptance order, increasing across restarts; restored jobs are re-queued in this order. */
  readonly seq: number;
  /** When the job was accepted, in ms since the epoch. */
  readonly acceptedAt: number;
  /** Attempts started so far (0 while it has never run). At most {@link MAX_ATTEMPTS}. */
  readonly attempts: number;
  readonly state: JobState;
}

/** A job runs at most twice: the first attempt and one retry after a transient failure or a crash. */
export const MAX_ATTEMPTS = 2;

/** Work units of a job: steps × pixels × count. */
export function costUnits(cost: JobCost): number {
  return cost.steps * cost.pixels * cost.count;
}

/** Returns `cost` when every field is a positive integer; throws a `RangeError` naming the bad field otherwise. */
export function checkCost(cost: JobCost): JobCost {
  return {
    steps: expectInteger('cost.steps', cost.steps, 1),
    pixels: expectInteger('cost.pixels', cost.pixels, 1),
    count: expectInteger('cost.count', cost.count, 1),
  };
}

const positive = z.number().int().min(1);

/** The queue's own facts about a job, as a journal stores them beside the job's request. */
export const queueFactsSchema = z.object({
  cost: z.object({ steps: positive, pixels: positive, count: positive }),
  seq: z.number().int().min(0),
  attempts: z.number().int().min(0).max(MAX_ATTEMPTS),
  state: z.enum(['queued', 'running']),
});
export type QueueFacts = z.infer<typeof queueFactsSchema>;

/** The stored form of a {@link Job}, validating its payload with `payload`. */
export function jobSchema<P>(payload: ZodType<P>): ZodType<Job<P>> {
  return queueFactsSchema.extend({
    id: z.string().min(1),
    ownerId: z.string().min(1),
    guildId: z.string().min(1),
    channelId: z.string().min(1).optional(),
    payload,
    acceptedAt: z.number(),
  });
}
