// dreamcord/catalog: MODELS_DIR as a catalog of models (files, folders, sidecars), and adding or removing one.
export { readCatalog, SIDECAR_SCHEMA, type Catalog, type CatalogModel, type Sidecar } from './catalog.js';
export { addModel, AddModelError, type AddedModel, type AddOptions } from './add-model.js';
export { removeModel } from './remove-model.js';
export { describeModel, schedulerOverridesOf, type DescribedModel } from './model-facts.js';
