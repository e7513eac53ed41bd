/** Configuration that cannot be used. The message is one line naming the variable or key and what is expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
