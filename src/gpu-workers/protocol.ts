import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { FAILURE_CODES, type JobFailure } from '../failure.js';
import type { Failure } from '../queue/index.js';
import { generationRequestSchema } from '../generator/request.js';
import { MODEL_FAMILIES, type ModelFamily, type SchedulerConfig } from '../pipeline/index.js';

/**
 * What the bot and its GPU workers say to each other through Redis: BullMQ jobs on one queue per model (handovers:
 * one or more compatible requests in, each one's pictures or failure out), a registry of the workers online with the
 * models each has, and a channel for cancels. Everything read from Redis is validated with these schemas first: Redis
 * is a trust boundary, and a worker runs nothing it cannot parse.
 */

/**
 * The BullMQ queue of model `model`'s jobs: only workers with the model take from it, and each model has its own
 * events and backlog. Names are matched case-insensitively (as members type them); BullMQ keys are separated by
 * `:`, which a file name may hold, so the name is URI-encoded.
 */
export function workQueueOf(model: string): string {
  return `dreamcord-generate/${encodeURIComponent(model.toLowerCase())}`;
}
/** Redis hash: worker name → its {@link WorkerInfo} as JSON, refreshed every {@link HEARTBEAT_MS}. */
export const WORKERS_KEY = 'dreamcord:workers';
/** Redis pub/sub channel: a job id published here is cancelled on the worker running it. */
export const CANCEL_CHANNEL = 'dreamcord:cancel';
/**
 * Redis key: the handover (its BullMQ job id) that carries the bot's job `jobId`, so a bot that restarted joins the
 * run under way instead of handing the job over again, whichever batch the job is in after the restart.
 */
export function handoverKeyOf(jobId: string): string {
  return `dreamcord:handover:${jobId}`;
}
/**
 * Redis key set when the bot's job `jobId` is cancelled: a worker that takes the job's handover after the cancel
 * was published (the handover waited in BullMQ meanwhile) skips the job; the others of its batch run.
 */
export function cancelledKeyOf(jobId: string): string {
  return `dreamcord:cancelled:${jobId}`;
}
/** How often a worker says it is alive; one silent for {@link WORKER_EXPIRY_MS} counts as gone. */
export const HEARTBEAT_MS = 2_000;
export const WORKER_EXPIRY_MS = 3 * HEARTBEAT_MS;
/** The largest result a worker sends back (PNG bytes, all pictures): over it the job fails with a clear reason. */
export const MAX_RESULT_BYTES = 64 * 1024 * 1024;

const base64 = z.base64();

/** A job for a worker: the request as the bot resolved it, and the pictures it starts from (PNG, base64). */
export const workSchema = z.object({
  request: generationRequestSchema,
  inputs: z.object({ image: base64.optional(), mask: base64.optional() }),
});
export type Work = z.infer<typeof workSchema>;

/**
 * One BullMQ job: compatible jobs of the bot's fair queue (the same `batchKeyOf`, filled in fair order) that a worker
 * runs as one UNet batch, in one of its slots, at most `maxRows` rows per model run (the bot's `BATCH_MAX_ROWS`; the
 * worker's own is the other limit). A job alone is a handover of one. Each job's work is validated on its own, so a
 * job that does not parse fails alone.
 */
export const handoverSchema = z.object({
  jobs: z.array(z.object({ jobId: z.string().min(1).max(100), work: z.unknown() })).min(1).max(64),
  maxRows: z.number().int().min(1).max(64),
});
export interface Handover {
  readonly jobs: readonly { readonly jobId: string; readonly work: Work }[];
  readonly maxRows: number;
}

const failureSchema = z.object({
  code: z.enum(FAILURE_CODES),
  transient: z.boolean(),
  details: z.record(z.string(), z.union([z.string(), z.number()])),
});

/** A failure as a worker sends it: a code outside {@link FAILURE_CODES} (none today) goes as `FAILED`. */
export function wireFailure(failure: Failure): JobFailure {
  const known = FAILURE_CODES.find((code) => code === failure.code);
  return known ? { ...failure, code: known } : { code: 'FAILED', transient: false, details: { reason: failure.code } };
}

/** What a worker returns: the pictures (PNG, base64, each with its seed and infotext), or the failure as data. */
export const workResultSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    images: z.array(z.object({ png: base64, seed: z.string(), parameters: z.string() })).min(1),
    warnings: z.array(z.string()),
    model: z.string(),
    durationMs: z.number().min(0),
  }),
  z.object({ ok: z.literal(false), failure: failureSchema }),
]);
export type WorkResult = z.infer<typeof workResultSchema>;

/**
 * What a worker returns for a handover: each job's {@link WorkResult} by its id (read with `workResultSchema` one by
 * one), or one failure for all when the handover itself could not be read.
 */
export const handoverResultSchema = z.union([
  z.object({ jobs: z.record(z.string().max(100), z.unknown()) }),
  z.object({ ok: z.literal(false), failure: failureSchema }),
]);
export type HandoverResult = { readonly jobs: Readonly<Record<string, WorkResult>> } | Extract<WorkResult, { ok: false }>;

/** A progress report of a running job of a handover: model calls done of all. */
export const workProgressSchema = z.object({ jobId: z.string(), step: z.number().int().min(0), total: z.number().int().min(1) });

/** A model a worker serves, as the bot offers it and needs it to build requests (the fields of `ServedModel`). */
const modelInfoSchema = z.object({
  name: z.string().min(1).max(200),
  displayName: z.string().min(1).max(100),
  description: z.string().max(100).optional(),
  defaults: z
    .object({ steps: z.number().int().optional(), cfg: z.number().optional(), sampler: z.string().optional(), aspect: z.string().optional() })
    .optional(),
  nativeSize: z.number().int().min(64),
  sizeBuckets: z.array(z.object({ width: z.number().int().min(64), height: z.number().int().min(64) })),
  maxClipSkip: z.number().int().min(1),
  family: z.enum(Object.keys(MODEL_FAMILIES) as [ModelFamily, ...ModelFamily[]]),
  schedulerConfig: z.record(z.string(), z.unknown()).transform((config) => config as unknown as SchedulerConfig),
});
export type ModelInfo = z.infer<typeof modelInfoSchema>;

/** A worker as it registers itself: jobs it runs at once (over all its models), where, its models, the jobs it runs now. */
export const workerInfoSchema = z.object({
  name: z.string().min(1).max(100),
  capacity: z.number().int().min(1).max(64),
  /**
   * UNet rows it runs as one batch (its own `BATCH_MAX_ROWS`): the bot fills a handover for it up to this; below 2 it
   * runs a handover's jobs one after the other.
   */
  batchMaxRows: z.number().int().min(0).max(64),
  /** Ids of the jobs it runs now, a batch's each (the bot's job ids, as both sides log them); absent from workers before it existed. */
  running: z.array(z.string().max(100)).max(64 * 64).optional(),
  provider: z.string(),
  /** Every model it has (`MODEL_DIR`'s first), loaded or not: it takes jobs from each one's queue. */
  models: z.array(modelInfoSchema).min(1).max(1000),
  seenAt: z.number(),
});
export type WorkerInfo = z.infer<typeof workerInfoSchema>;

/**
 * ioredis options for a `redis://` or `rediss://` URL (user, password and database in the URL; TLS for
 * `rediss://`). BullMQ's blocking connections need `maxRetriesPerRequest: null`.
 */
export function redisOptions(url: string): { host: string; port: number; username?: string; password?: string; db?: number; tls?: object; maxRetriesPerRequest: null } {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(db === undefined ? {} : { db }),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/**
 * Logs a Redis connection's outage once (ioredis retries on its own and reports every failed attempt), and its
 * recovery. Without an 'error' listener ioredis prints each attempt to stderr.
 */
export function logOutages(redis: Pick<Redis, 'on'>, log: Logger, what: string): void {
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) log.warn({ err: error, what }, 'GPU workers: Redis unreachable; reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info({ what }, 'GPU workers: Redis reachable again');
    down = false;
  });
}
