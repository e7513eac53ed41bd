export { Store } from './store.js';
export { Collection, type CollectionSchema } from './collection.js';
export { StoreBackendError, StoreError } from './errors.js';
export { retriedOnBackendFailure } from './retry.js';
export { SerialByKey } from './serial-by-key.js';
