import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { CheckpointError, openCheckpoint } from '../checkpoint/index.js';
import { cudaProviderInstalled, type ExecutionProviderChoice } from '../pipeline/index.js';
import { convertCheckpoint, CONVERTER_VERSION, MANIFEST_FILE, readManifest, type ConversionManifest, type ConvertProgress } from './convert.js';
import type { GraphTarget } from './graphs/image-layers.js';
import type { ComponentDtype } from './graphs/write-component.js';
import { sourceIdentity, sourceSha256 } from './source-files.js';

export interface PrepareOptions {
  readonly cacheDir: string;
  /** The dtype of portable conversions; the cuda target is always fp16. */
  readonly dtype: ComponentDtype;
  /** The graphs' form (see `graphTargetFor`); each form is cached on its own. @default 'portable' */
  readonly target?: GraphTarget;
  /** Called when a conversion starts (no cached conversion of this content), before anything is written. */
  readonly onConvert?: (source: string) => void;
  readonly onProgress?: (progress: ConvertProgress) => void;
  readonly onWarning?: (message: string) => void;
}

export interface PreparedModel {
  /** The ONNX folder to load. */
  readonly dir: string;
  /** Whether this call converted (false: an ONNX folder as given, or a cache hit). */
  readonly converted: boolean;
  /** The source's content hash (A1111's `Model hash` is its first 10 digits); undefined for an ONNX folder. */
  readonly sha256?: string;
}

/** What the cache remembers of a source it converted: how it looked on disk, and its content hash. */
interface LookupRecord {
  readonly sha256: string;
  readonly entry: string;
}

/**
 * The ONNX folder for a model given as `MODEL_DIR` or `--model`: an ONNX export as it is; a `.safetensors`
 * checkpoint or diffusers folder converted once into `cacheDir`, then reused.
 *
 * A start with a cached model reads two small JSON files: the lookup is keyed by the source's path, size and
 * modification time (hashing a 4 GB file on every start would take seconds), and the entry it points to is used
 * only when its manifest records the same content hash, this converter version and dtype. Entries are named by
 * the content hash, so a moved or touched file is hashed once and finds its existing conversion. An entry converted
 * before the file's sampling markers were read has them read once (see {@link bringSamplingUpToDate}).
 * @throws CheckpointError for a source that cannot be converted, ConvertError writing the conversion.
 */
export async function prepareModel(source: string, options: PrepareOptions): Promise<PreparedModel> {
  if (!existsSync(source)) throw new CheckpointError('NOT_FOUND', source, `${source} does not exist`);
  if (isOnnxFolder(source)) return { dir: source, converted: false };
  const target = options.target ?? 'portable';
  const form: Form = { target, dtype: target === 'cuda' ? 'fp16' : options.dtype };
  const identity = sourceIdentity(source);
  // The portable form keeps the key it had before there were two forms, so existing caches stay valid.
  const formKey = target === 'portable' ? [form.dtype] : [form.dtype, target];
  const key = createHash('sha256')
    .update(JSON.stringify([resolve(source), identity.size, identity.mtimeMs, ...formKey]))
    .digest('hex')
    .slice(0, 32);
  const lookupFile = join(options.cacheDir, 'lookup', `${key}.json`);
  const remembered = readLookup(lookupFile);
  if (remembered && entryMatches(join(options.cacheDir, remembered.entry), remembered.sha256, form)) {
    const dir = join(options.cacheDir, remembered.entry);
    await bringSamplingUpToDate(dir, source, options.onWarning);
    return { dir, converted: false, sha256: remembered.sha256 };
  }
  // Refuse bad input before spending time hashing it.
  openCheckpoint(source);
  const sha256 = await sourceSha256(source);
  const entry = `${basename(source, extname(source))}-${sha256.slice(0, 16)}-${form.dtype}${target === 'cuda' ? '-cuda' : ''}`;
  const dir = join(options.cacheDir, entry);
  let converted = false;
  if (!entryMatches(dir, sha256, form)) {
    // An entry of an older converter version (or one without a manifest, which no conversion leaves) is redone.
    await rm(dir, { recursive: true, force: true });
    await mkdir(options.cacheDir, { recursive: true });
    await removeStalePartials(options.cacheDir, entry);
    options.onConvert?.(source);
    await convertCheckpoint(source, dir, {
      ...form,
      sha256,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    });
    converted = true;
  } else await bringSamplingUpToDate(dir, source, options.onWarning);
  await mkdir(join(options.cacheDir, 'lookup'), { recursive: true });
  await writeFile(lookupFile, JSON.stringify({ sha256, entry } satisfies LookupRecord));
  return { dir, converted, sha256 };
}

/**
 * An entry converted before the converter read a single file's sampling markers (`v_pred`, `ztsnr`; its manifest
 * records no `sampling`) has its family's scheduler config whatever the file says, so a v-prediction SDXL file would
 * be drawn as noise prediction. The file's markers are read once (its header only) and laid over the entry's
 * scheduler config — the graphs do not depend on them — and the manifest then records them, so later starts read
 * nothing more. Bumping `CONVERTER_VERSION` instead would convert every model again.
 */
async function bringSamplingUpToDate(dir: string, source: string, onWarning: ((message: string) => void) | undefined): Promise<void> {
  const manifest = readManifest(dir);
  if (!manifest || manifest.sampling !== undefined) return;
  try {
    const { sampling } = openCheckpoint(source);
    if (Object.keys(sampling).length > 0) {
      const configFile = join(dir, 'scheduler', 'scheduler_config.json');
      const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
      await replaceJson(configFile, { ...config, ...sampling });
    }
    // The manifest last: an entry whose manifest records `sampling` has the scheduler config that goes with it.
    await replaceJson(join(dir, MANIFEST_FILE), { ...manifest, sampling } satisfies ConversionManifest);
  } catch (error) {
    // The entry loaded before this update existed: a cache this process may not write (read-only, shared with a
    // GPU worker), a full disk or a damaged config must not fail the start. The next start tries again.
    onWarning?.(
      `Could not bring the sampling settings of the cached conversion ${dir} up to date with ${source} ` +
        `(${(error as Error).message}); it is used as it is, and may not sample as the file's v_pred/ztsnr markers say.`,
    );
  }
}

/**
 * Writes `value` to `file` through a temporary file renamed over it: a process reading it meanwhile (a GPU worker
 * sharing the cache) reads the old or the new, whole.
 */
async function replaceJson(file: string, value: unknown): Promise<void> {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temp, file);
}

/**
 * The form of the graphs to convert for a provider choice: `cuda` when the CUDA provider is asked for, or under
 * `auto` when its library is installed (`auto` tries CUDA first); `portable` otherwise (CPU, WebGPU, DirectML,
 * CoreML, which cannot run the CUDA form's fused operators).
 */
export function graphTargetFor(choice: ExecutionProviderChoice, cudaInstalled: () => boolean = cudaProviderInstalled): GraphTarget {
  return choice === 'cuda' || (choice === 'auto' && cudaInstalled()) ? 'cuda' : 'portable';
}

/** A conversion killed mid-way leaves `.<entry>.partial-…` (never used, but gigabytes); older than this, it goes. */
const STALE_PARTIAL_MS = 60 * 60 * 1000;

/** Removes what killed conversions of `entry` left, sparing any young enough to be another process's, under way. */
async function removeStalePartials(cacheDir: string, entry: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    const path = join(cacheDir, name);
    if (name.startsWith(`.${entry}.partial-`) && Date.now() - statSync(path).mtimeMs > STALE_PARTIAL_MS) {
      await rm(path, { recursive: true, force: true });
    }
  }
}

/** An ONNX export the pipeline reads directly (as opposed to a diffusers folder of PyTorch weights). */
export function isOnnxFolder(path: string): boolean {
  return statSync(path).isDirectory() && existsSync(join(path, 'unet', 'model.onnx'));
}

function readLookup(file: string): LookupRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as Partial<LookupRecord>;
    return typeof record.sha256 === 'string' && typeof record.entry === 'string' ? { sha256: record.sha256, entry: record.entry } : undefined;
  } catch {
    return undefined;
  }
}

/** Which conversion of a source an entry holds. */
interface Form {
  readonly target: GraphTarget;
  readonly dtype: ComponentDtype;
}

function entryMatches(dir: string, sha256: string, form: Form): boolean {
  const manifest = readManifest(dir);
  return (
    manifest?.source.sha256 === sha256 &&
    manifest.converterVersion === CONVERTER_VERSION &&
    manifest.dtype === form.dtype &&
    (manifest.target ?? 'portable') === form.target
  );
}
