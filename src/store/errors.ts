/** A store operation failed: the backend is unreachable, or a record cannot be read back. Never swallowed. */
export class StoreError extends Error {
  override readonly name: string = 'StoreError';
}

/**
 * The store's backend failed an operation (SQLite busy or its disk failing, a Redis connection dropped): trying it
 * again may work. A {@link StoreError} that is not one (a record that does not match its schema) stays as it is.
 */
export class StoreBackendError extends StoreError {
  override readonly name: string = 'StoreBackendError';
}
