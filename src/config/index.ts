import { fileURLToPath } from 'node:url';
import { readDefaults, type ProductDefaults } from './defaults.js';
import { readEnv, type EnvConfig } from './env.js';

export { ConfigError } from './errors.js';
export { ASPECT_RATIOS, MAX_IMAGES_PER_JOB, readDefaults, type ProductDefaults } from './defaults.js';
export { EXECUTION_PROVIDERS, readEnv, readWorkerEnv, type EnvConfig, type WorkerEnvConfig } from './env.js';
export { EXPLICIT_TERMS_PATH, readExplicitTerms } from './explicit-terms.js';

/** Everything dreamcord is configured with, validated once at start and frozen. */
export interface AppConfig {
  readonly env: EnvConfig;
  readonly defaults: ProductDefaults;
}

/** The product defaults shipped with dreamcord. */
export const DEFAULTS_PATH = fileURLToPath(new URL('../../config/default.json', import.meta.url));

/** Validates the environment and the product defaults; throws `ConfigError` with one clear line. */
export function loadConfig(env: NodeJS.ProcessEnv, defaultsPath = DEFAULTS_PATH): AppConfig {
  return Object.freeze({ env: readEnv(env), defaults: readDefaults(defaultsPath) });
}
