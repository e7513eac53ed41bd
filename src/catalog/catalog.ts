import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import { parseSamplerName } from '../pipeline/index.js';

/**
 * `MODELS_DIR` as a catalog: every checkpoint in it is a model — a `.safetensors` file, a diffusers folder
 * (`unet/config.json`) or an ONNX folder (`unet/model.onnx`) — named by its file or folder name without the
 * extension. An optional sidecar `<name>.json` beside it describes the model. Reading the catalog reads only names
 * and sidecars: no model is opened, hashed or converted here.
 */

/** A model's sidecar `<name>.json`: how members see it, and what it changes of its family's defaults. */
export const SIDECAR_SCHEMA = z
  .object({
    /** What menus show instead of the file name. */
    displayName: z.string().trim().min(1).max(100).optional(),
    /** One line for menus (Discord shows up to 100 characters). */
    description: z.string().max(100).optional(),
    /** The model draws explicit pictures (for the content policy). */
    nsfw: z.boolean().optional(),
    /** What the weights do not say: v-prediction fine-tunes, and whether they were trained with zero terminal SNR. */
    prediction: z.enum(['epsilon', 'v']).optional(),
    zeroTerminalSnr: z.boolean().optional(),
    /** Generation defaults for this model (a server's own settings still win). */
    defaults: z
      .object({
        steps: z.number().int().min(1).max(150).optional(),
        cfg: z.number().min(0).max(50).optional(),
        // A1111's name or dreamcord's id, kept as the id: a typo leaves the model out at start, naming the field.
        sampler: z
          .string()
          .max(40)
          .transform((name, context) => {
            try {
              return parseSamplerName(name);
            } catch (error) {
              context.addIssue({ code: 'custom', message: (error as Error).message });
              return z.NEVER;
            }
          })
          .optional(),
        aspect: z.string().regex(/^\d{1,2}:\d{1,2}$/).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Sidecar = z.infer<typeof SIDECAR_SCHEMA>;

export interface CatalogModel {
  /** The file or folder name without `.safetensors`: what `/imagine model:` and `dreamcord models` call it. */
  readonly name: string;
  readonly path: string;
  readonly form: 'safetensors' | 'diffusers' | 'onnx';
  /** Its sidecar, when it has a valid one. */
  readonly sidecar: Sidecar | undefined;
}

export interface Catalog {
  /** The usable models, by name. */
  readonly models: readonly CatalogModel[];
  /** One line per entry left out: a sidecar that is not valid (naming the field), two models of one name. */
  readonly problems: readonly string[];
}

const SIDECAR_EXTENSION = '.json';

/** Reads the catalog of `dir` (which must exist). */
export function readCatalog(dir: string): Catalog {
  const problems: string[] = [];
  const found: CatalogModel[] = [];
  for (const entry of readdirSync(dir).sort()) {
    if (entry.startsWith('.')) continue; // downloads under way (`.name.partial`) and hidden files
    const path = join(dir, entry);
    const form = formOf(path);
    if (!form) continue;
    const name = form === 'safetensors' ? basename(entry, extname(entry)) : entry;
    const sidecar = readSidecar(join(dir, `${name}${SIDECAR_EXTENSION}`));
    if (typeof sidecar === 'string') {
      problems.push(sidecar);
      continue;
    }
    found.push({ name, path, form, sidecar });
  }
  // Names are matched case-insensitively (as members type them): two models whose names differ only in case, or a
  // file and a folder of one name, are ambiguous, so neither is offered.
  const byName = new Map<string, CatalogModel[]>();
  for (const model of found) byName.set(model.name.toLowerCase(), [...(byName.get(model.name.toLowerCase()) ?? []), model]);
  const models: CatalogModel[] = [];
  for (const same of byName.values()) {
    const [first] = same;
    if (same.length === 1 && first) models.push(first);
    else problems.push(`${same.map((m) => basename(m.path)).join(' and ')} have the same model name; rename one of them`);
  }
  return { models, problems };
}

/** How `path` holds a checkpoint, if it does. */
function formOf(path: string): CatalogModel['form'] | undefined {
  const stat = statSync(path);
  if (stat.isFile()) return extname(path).toLowerCase() === '.safetensors' ? 'safetensors' : undefined;
  if (!stat.isDirectory()) return undefined;
  if (existsSync(join(path, 'unet', 'model.onnx'))) return 'onnx';
  return existsSync(join(path, 'unet', 'config.json')) ? 'diffusers' : undefined;
}

/** The sidecar's contents; undefined when there is none; a one-line problem when it is not valid. */
function readSidecar(file: string): Sidecar | undefined | string {
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return `${basename(file)} is not valid JSON (${(error as Error).message}); its model is left out`;
  }
  const parsed = SIDECAR_SCHEMA.safeParse(json);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  const field = issue?.path.join('.') || (issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : '');
  return `${basename(file)}: ${field ? `\`${field}\`` : 'the file'} is not valid (${issue?.message ?? 'unknown'}); its model is left out`;
}
