import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readCatalog, type CatalogModel } from './catalog.js';

/**
 * Deletes the model `name` (matched as members type it, case-insensitively) from `modelsDir`, with its sidecar.
 * Its conversion stays in the model cache (another copy of the same file finds it again).
 * @throws Error naming the models there are, when `name` is none of them.
 */
export async function removeModel(modelsDir: string, name: string): Promise<CatalogModel> {
  const { models } = readCatalog(modelsDir);
  const model = models.find((m) => m.name.toLowerCase() === name.trim().toLowerCase());
  if (!model) {
    const there = models.map((m) => m.name).join(', ') || 'none';
    throw new Error(`There is no model "${name}" in ${modelsDir} (models: ${there})`);
  }
  await rm(model.path, { recursive: true, force: true });
  await rm(join(modelsDir, `${model.name}.json`), { force: true });
  return model;
}
