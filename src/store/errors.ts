/** A store operation failed: the backend is unreachable, or a record cannot be read back. Never swallowed. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}
