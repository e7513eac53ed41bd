import { z } from 'zod';
import { ConfigError } from './errors.js';
import { CUDA_GRAPH_CHOICES, DEFAULT_CUDA_GRAPHS, DEFAULT_NATIVE_BRIDGE, NATIVE_BRIDGE_CHOICES } from '../pipeline/index.js';

export const EXECUTION_PROVIDERS = ['auto', 'cuda', 'dml', 'webgpu', 'coreml', 'cpu'] as const;
/** Where converted checkpoints are kept unless `MODEL_CACHE_DIR` says otherwise (beside the default store). */
export const DEFAULT_MODEL_CACHE_DIR = 'data/model-cache';
/** The memory the loaded models may take together unless `MODEL_MEMORY_GB` says otherwise (two SDXL models in fp16). */
export const DEFAULT_MODEL_MEMORY_GB = 16;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const snowflake = z.string().regex(/^\d{17,20}$/, 'a Discord id (17–20 digits)');
/** Empty strings count as "not set", as a `.env` copied from `.env.example` leaves them. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const modelDir = z
  .string({ error: 'a Stable Diffusion .safetensors checkpoint, diffusers folder or ONNX folder' })
  .min(1, 'a Stable Diffusion .safetensors checkpoint, diffusers folder or ONNX folder');
const queueUrl = z.string().regex(/^rediss?:\/\/.+/, 'redis://[user:password@]<host>:<port> or rediss:// (TLS)');

/** The settings of whatever runs the pipeline: the bot with its own GPU, or a GPU worker. */
const pipelineFields = {
  MODEL_DIR: modelDir,
  INPAINT_MODEL_DIR: optional(z.string()),
  /** Textual-inversion embeddings (`.safetensors`), called in prompts by file name. */
  EMBEDDINGS_DIR: optional(z.string()),
  /** LoRAs (`.safetensors`), called in prompts as `<lora:file name:weight>`. */
  LORA_DIR: optional(z.string()),
  MODEL_CACHE_DIR: optional(z.string()).transform((value) => value ?? DEFAULT_MODEL_CACHE_DIR),
  MODEL_DTYPE: optional(z.enum(['fp32', 'fp16'], { error: 'fp32 or fp16' })).transform((value) => value ?? 'fp32'),
  EXECUTION_PROVIDER: optional(z.enum(EXECUTION_PROVIDERS, { error: `one of ${EXECUTION_PROVIDERS.join(', ')}` })).transform(
    (value) => value ?? 'auto',
  ),
  /**
   * Sessions through the native bridge to ONNX Runtime's C API (CUDA provider options the binding cannot pass):
   * `auto` on CUDA, `on` on CUDA and the CPU, `off` (the default: see DEFAULT_NATIVE_BRIDGE for why).
   */
  ONNX_NATIVE_BRIDGE: optional(z.enum(NATIVE_BRIDGE_CHOICES, { error: `one of ${NATIVE_BRIDGE_CHOICES.join(', ')}` })).transform(
    (value) => value ?? DEFAULT_NATIVE_BRIDGE,
  ),
  /**
   * CUDA graphs for the UNet through the bridge: `auto` where the bridge runs it on CUDA, `on` the same with a warning
   * where it cannot, `off` (the default: see DEFAULT_CUDA_GRAPHS for why).
   */
  ONNX_CUDA_GRAPHS: optional(z.enum(CUDA_GRAPH_CHOICES, { error: `one of ${CUDA_GRAPH_CHOICES.join(', ')}` })).transform(
    (value) => value ?? DEFAULT_CUDA_GRAPHS,
  ),
  LOG_LEVEL: optional(z.enum(LOG_LEVELS, { error: `one of ${LOG_LEVELS.join(', ')}` })).transform((value) => value ?? 'info'),
};

/** The models besides `MODEL_DIR`'s, for the bot's own GPU and for a GPU worker alike. */
const modelsFields = {
  /** A folder of models members pick from (`/imagine model:`), each loaded on first use. */
  MODELS_DIR: optional(z.string()),
  /** What the loaded models may take together, in GB: beyond it the least recently used one is released. */
  MODEL_MEMORY_GB: optional(
    z.coerce.number({ error: 'a number of gigabytes, such as 12' }).positive('a number of gigabytes, such as 12').max(4096, 'a number of gigabytes, such as 12'),
  ).transform((value) => value ?? DEFAULT_MODEL_MEMORY_GB),
};

/** The machine settings and secrets dreamcord reads from the environment (and `.env`); `.env.example` documents each. */
/**
 * UNet batch rows one batch of queued jobs may take (2 per image with CFG): compatible waiting jobs run together up to
 * it; on a GPU worker, the most it runs as one batch (the bot fills its handovers up to the smaller of the two). 0 or
 * 1 turns batching off.
 */
const batchMaxRows = optional(
  z.coerce.number({ error: 'a whole number from 0 to 64' }).int('a whole number from 0 to 64').min(0, 'a whole number from 0 to 64').max(64, 'a whole number from 0 to 64'),
).transform((value) => value ?? DEFAULT_BATCH_MAX_ROWS);

const envSchema = z
  .object({
    ...pipelineFields,
    DISCORD_TOKEN: z.string({ error: 'the bot token from the Discord developer portal' }).min(1, 'the bot token from the Discord developer portal'),
    DISCORD_API_BASE: optional(z.url({ error: 'a URL such as http://127.0.0.1:3000/api' })),
    DISCORD_GUILD_ID: optional(snowflake),
    // With GPU workers (`QUEUE_URL`) the model is theirs: the bot needs none.
    MODEL_DIR: optional(modelDir),
    ...modelsFields,
    QUEUE_URL: optional(queueUrl),
    /** How long a gone GPU worker's models stay on offer, its waiting jobs waiting for it (default: 10 minutes). */
    WORKER_GONE_SECONDS: optional(
      z.coerce.number({ error: 'a whole number of seconds from 1 to 86400' }).int('a whole number of seconds from 1 to 86400').min(1, 'a whole number of seconds from 1 to 86400').max(86_400, 'a whole number of seconds from 1 to 86400'),
    ),
    NSFW_MODEL: optional(z.string()),
    QUEUE_CONCURRENCY: optional(
      z.coerce.number({ error: 'a whole number from 1 to 16' }).int('a whole number from 1 to 16').min(1, 'a whole number from 1 to 16').max(16, 'a whole number from 1 to 16'),
    ).transform((value) => value ?? 1),
    BATCH_MAX_ROWS: batchMaxRows,
    STORE_URL: optional(z.string().regex(/^(sqlite|redis|rediss):\/\/.+/, 'sqlite://<file> or redis://<host>:<port>')).transform(
      (value) => value ?? 'sqlite://data/dreamcord.sqlite',
    ),
  })
  .superRefine((env, context) => {
    if (env.MODEL_DIR === undefined && env.MODELS_DIR === undefined && env.QUEUE_URL === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['MODEL_DIR'],
        message: 'a Stable Diffusion .safetensors checkpoint, diffusers folder or ONNX folder (or MODELS_DIR, a folder of models, or QUEUE_URL, for GPU workers)',
      });
    }
  });

/** Batch rows by default: 4 compatible single-image jobs with CFG, or one job of 4 images and its like. */
export const DEFAULT_BATCH_MAX_ROWS = 8;

/** What `dreamcord worker` reads: the pipeline's settings and the Redis to take jobs from; never the Discord token. */
const workerEnvSchema = z
  .object({
    ...pipelineFields,
    ...modelsFields,
    MODEL_DIR: optional(modelDir),
    QUEUE_URL: z.preprocess((value) => (value === '' ? undefined : value), z.string({ error: 'the Redis URL the bot hands jobs over' }).pipe(queueUrl)),
    WORKER_NAME: optional(z.string().min(1).max(100)),
    WORKER_CONCURRENCY: optional(z.coerce.number().int().min(1).max(16, 'a whole number from 1 to 16')).transform((value) => value ?? 1),
    WORKER_LEASE_SECONDS: optional(z.coerce.number().int().min(1).max(600, 'a whole number of seconds from 1 to 600')).transform((value) => value ?? 30),
    BATCH_MAX_ROWS: batchMaxRows,
  })
  .superRefine((env, context) => {
    if (env.MODEL_DIR === undefined && env.MODELS_DIR === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['MODEL_DIR'],
        message: 'a Stable Diffusion .safetensors checkpoint, diffusers folder or ONNX folder (or MODELS_DIR, a folder of models)',
      });
    }
  });

export type EnvConfig = Readonly<z.infer<typeof envSchema>>;
export type WorkerEnvConfig = Readonly<z.infer<typeof workerEnvSchema>>;

/**
 * Reads and validates the environment. Throws a `ConfigError` whose message names the first bad variable,
 * for example: "DISCORD_TOKEN is not set: expected the bot token from the Discord developer portal".
 */
export function readEnv(env: NodeJS.ProcessEnv): EnvConfig {
  return parseEnv(envSchema, env);
}

/** Reads and validates the environment of `dreamcord worker`, with the same one-line errors. */
export function readWorkerEnv(env: NodeJS.ProcessEnv): WorkerEnvConfig {
  return parseEnv(workerEnvSchema, env);
}

function parseEnv<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv): Readonly<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return Object.freeze(parsed.data);
  const issue = parsed.error.issues[0];
  const name = String(issue?.path[0] ?? 'environment');
  const value = env[name];
  const state = value === undefined || value === '' ? 'is not set' : 'is invalid';
  // Never echo a secret back, even a malformed one.
  throw new ConfigError(`${name} ${state}: expected ${issue?.message ?? 'a valid value'}`);
}
