import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, readEnv, readWorkerEnv } from '../../src/config/index.js';
import { DEFAULT_CUDA_GRAPHS, DEFAULT_NATIVE_BRIDGE } from '../../src/pipeline/index.js';

const minimal = { DISCORD_TOKEN: 'token-value-123', MODEL_DIR: 'models/sd15' };

describe('readEnv', () => {
  it('fills the documented defaults', () => {
    const env = readEnv(minimal);
    assert.equal(env.EXECUTION_PROVIDER, 'auto');
    assert.equal(env.QUEUE_CONCURRENCY, 1);
    assert.equal(env.STORE_URL, 'sqlite://data/dreamcord.sqlite');
    assert.equal(env.LOG_LEVEL, 'info');
    assert.equal(env.DISCORD_API_BASE, undefined);
    assert.equal(env.MODEL_MEMORY_GB, 16);
    // The bridge's and CUDA graphs' defaults are one constant each, flipped once their GPU figures are in.
    assert.equal(env.ONNX_NATIVE_BRIDGE, DEFAULT_NATIVE_BRIDGE);
    assert.equal(env.ONNX_CUDA_GRAPHS, DEFAULT_CUDA_GRAPHS);
    assert.ok(Object.isFrozen(env));
  });

  it('treats empty values from a copied .env.example as not set', () => {
    const env = readEnv({ ...minimal, DISCORD_API_BASE: '', DISCORD_GUILD_ID: '', QUEUE_CONCURRENCY: '', EXECUTION_PROVIDER: '', ONNX_CUDA_GRAPHS: '' });
    assert.equal(env.ONNX_CUDA_GRAPHS, DEFAULT_CUDA_GRAPHS);
    assert.equal(env.DISCORD_GUILD_ID, undefined);
    assert.equal(env.QUEUE_CONCURRENCY, 1);
    assert.equal(env.EXECUTION_PROVIDER, 'auto');
  });

  it('parses every variable', () => {
    const env = readEnv({
      ...minimal,
      DISCORD_API_BASE: 'http://127.0.0.1:4000/api',
      DISCORD_GUILD_ID: '123456789012345678',
      INPAINT_MODEL_DIR: 'models/inpaint',
      EXECUTION_PROVIDER: 'webgpu',
      QUEUE_CONCURRENCY: '2',
      STORE_URL: 'redis://127.0.0.1:6379',
      LOG_LEVEL: 'debug',
      MODELS_DIR: 'models',
      MODEL_MEMORY_GB: '7.5',
      ONNX_NATIVE_BRIDGE: 'auto',
      ONNX_CUDA_GRAPHS: 'auto',
    });
    assert.equal(env.ONNX_NATIVE_BRIDGE, 'auto');
    assert.equal(env.ONNX_CUDA_GRAPHS, 'auto');
    assert.deepEqual(['on', 'off'].map((value) => readEnv({ ...minimal, ONNX_CUDA_GRAPHS: value }).ONNX_CUDA_GRAPHS), ['on', 'off']);
    assert.equal(readEnv({ ...minimal, ONNX_NATIVE_BRIDGE: 'on' }).ONNX_NATIVE_BRIDGE, 'on');
    assert.equal(env.QUEUE_CONCURRENCY, 2);
    assert.deepEqual([env.MODELS_DIR, env.MODEL_MEMORY_GB], ['models', 7.5]);
    // A folder of models alone is enough: no MODEL_DIR.
    assert.equal(readEnv({ DISCORD_TOKEN: 't', MODELS_DIR: 'models' }).MODEL_DIR, undefined);
    assert.equal(env.EXECUTION_PROVIDER, 'webgpu');
    assert.equal(env.INPAINT_MODEL_DIR, 'models/inpaint');
  });

  const cases: [string, Record<string, string>, string][] = [
    ['a missing token', { MODEL_DIR: 'x' }, 'DISCORD_TOKEN is not set: expected the bot token from the Discord developer portal'],
    ['a missing model', { DISCORD_TOKEN: 't' }, 'MODEL_DIR is not set: expected a Stable Diffusion .safetensors checkpoint, diffusers folder or ONNX folder (or MODELS_DIR, a folder of models, or QUEUE_URL, for GPU workers)'],
    ['a memory budget of nothing', { ...minimal, MODEL_MEMORY_GB: '0' }, 'MODEL_MEMORY_GB is invalid: expected a number of gigabytes, such as 12'],
    ['a queue that is not Redis', { ...minimal, QUEUE_URL: 'amqp://rabbit' }, 'QUEUE_URL is invalid: expected redis://[user:password@]<host>:<port> or rediss:// (TLS)'],
    ['an unknown provider', { ...minimal, EXECUTION_PROVIDER: 'rocm' }, 'EXECUTION_PROVIDER is invalid: expected one of auto, cuda, dml, webgpu, coreml, cpu'],
    ['a zero concurrency', { ...minimal, QUEUE_CONCURRENCY: '0' }, 'QUEUE_CONCURRENCY is invalid: expected a whole number from 1 to 16'],
    ['a fractional concurrency', { ...minimal, QUEUE_CONCURRENCY: '1.5' }, 'QUEUE_CONCURRENCY is invalid: expected a whole number from 1 to 16'],
    ['a word for concurrency', { ...minimal, QUEUE_CONCURRENCY: 'two' }, 'QUEUE_CONCURRENCY is invalid: expected a whole number from 1 to 16'],
    ['a postgres store', { ...minimal, STORE_URL: 'postgres://db' }, 'STORE_URL is invalid: expected sqlite://<file> or redis://<host>:<port>'],
    ['a bad guild id', { ...minimal, DISCORD_GUILD_ID: 'my-server' }, 'DISCORD_GUILD_ID is invalid: expected a Discord id (17–20 digits)'],
    ['a bad API base', { ...minimal, DISCORD_API_BASE: 'not a url' }, 'DISCORD_API_BASE is invalid: expected a URL such as http://127.0.0.1:3000/api'],
    ['a native bridge that is neither on nor off', { ...minimal, ONNX_NATIVE_BRIDGE: 'yes' }, 'ONNX_NATIVE_BRIDGE is invalid: expected one of auto, on, off'],
    ['CUDA graphs that are neither on nor off', { ...minimal, ONNX_CUDA_GRAPHS: 'true' }, 'ONNX_CUDA_GRAPHS is invalid: expected one of auto, on, off'],
    ['a bad log level', { ...minimal, LOG_LEVEL: 'loud' }, 'LOG_LEVEL is invalid: expected one of fatal, error, warn, info, debug, trace, silent'],
  ];
  for (const [name, env, message] of cases) {
    it(`names the variable for ${name}`, () => {
      assert.throws(() => readEnv(env), (error: unknown) => error instanceof ConfigError && error.message === message);
    });
  }
});

describe('readEnv with GPU workers (QUEUE_URL)', () => {
  it('needs no model on the bot: the workers have it', () => {
    const env = readEnv({ DISCORD_TOKEN: 't', QUEUE_URL: 'rediss://:secret@redis.example:6380' });
    assert.equal(env.QUEUE_URL, 'rediss://:secret@redis.example:6380');
    assert.equal(env.MODEL_DIR, undefined);
  });
});

describe('readWorkerEnv', () => {
  it('reads a worker\'s settings with their defaults, and no Discord token', () => {
    const env = readWorkerEnv({ QUEUE_URL: 'redis://127.0.0.1:6379', MODEL_DIR: 'models/sd15' });
    assert.equal(env.WORKER_CONCURRENCY, 1);
    assert.equal(env.WORKER_LEASE_SECONDS, 30);
    assert.equal(env.WORKER_NAME, undefined);
    assert.equal(env.EXECUTION_PROVIDER, 'auto');
    assert.equal(env.ONNX_NATIVE_BRIDGE, DEFAULT_NATIVE_BRIDGE);
    assert.equal(env.ONNX_CUDA_GRAPHS, DEFAULT_CUDA_GRAPHS);
    const bridged = readWorkerEnv({ QUEUE_URL: 'redis://h:1', MODEL_DIR: 'm', ONNX_NATIVE_BRIDGE: 'auto', ONNX_CUDA_GRAPHS: 'on' });
    assert.deepEqual([bridged.ONNX_NATIVE_BRIDGE, bridged.ONNX_CUDA_GRAPHS], ['auto', 'on']);
    assert.throws(
      () => readWorkerEnv({ QUEUE_URL: 'redis://h:1', MODEL_DIR: 'm', ONNX_CUDA_GRAPHS: 'yes' }),
      (error: unknown) => error instanceof ConfigError && error.message === 'ONNX_CUDA_GRAPHS is invalid: expected one of auto, on, off',
    );
  });

  it('serves a folder of models, as the bot does (issue 21: a worker has every model of MODELS_DIR)', () => {
    const env = readWorkerEnv({ QUEUE_URL: 'redis://127.0.0.1:6379', MODELS_DIR: 'models', MODEL_MEMORY_GB: '24' });
    assert.deepEqual([env.MODEL_DIR, env.MODELS_DIR, env.MODEL_MEMORY_GB], [undefined, 'models', 24]);
  });

  const cases: [string, Record<string, string>, string][] = [
    ['a missing queue', { MODEL_DIR: 'm' }, 'QUEUE_URL is not set: expected the Redis URL the bot hands jobs over'],
    ['a missing model', { QUEUE_URL: 'redis://h:1' }, 'MODEL_DIR is not set: expected a Stable Diffusion .safetensors checkpoint, diffusers folder or ONNX folder (or MODELS_DIR, a folder of models)'],
    ['a lease of an hour', { QUEUE_URL: 'redis://h:1', MODEL_DIR: 'm', WORKER_LEASE_SECONDS: '3600' }, 'WORKER_LEASE_SECONDS is invalid: expected a whole number of seconds from 1 to 600'],
  ];
  for (const [name, env, message] of cases) {
    it(`names the variable for ${name}`, () => {
      assert.throws(() => readWorkerEnv(env), (error: unknown) => error instanceof ConfigError && error.message === message);
    });
  }
});
