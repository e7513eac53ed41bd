export { Store } from './store.js';
export { Collection, type CollectionSchema } from './collection.js';
export { StoreError } from './errors.js';
export { SerialByKey } from './serial-by-key.js';
