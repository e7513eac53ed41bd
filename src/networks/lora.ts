// LoRA files as people share them, turned into the pipeline's weight changes. Key formats: kohya's
// (`lora_unet_<module path with _>`, `lora_te_…`, for SDXL `lora_te1_…` (CLIP ViT-L) and `lora_te2_…` (OpenCLIP
// ViT-bigG), `.lora_down` / `.lora_up` / `.alpha`, LoCon's convolutions alike, and with the UNet's LDM names,
// `lora_unet_input_blocks_1_1_…`, as kohya's SDXL trainer writes them), PEFT's (`unet.<module path>.lora_A` /
// `.lora_B`, `text_encoder.…`, `text_encoder_2.…`) and LyCORIS's LoHa (`.hada_w1_a/b`, `.hada_w2_a/b`).
// A1111's merge: W += m · alpha / rank · up·down, for LoHa m · alpha / rank · (w1a·w1b) ⊙ (w2a·w2b).
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { ldmUnetName, type SafetensorsFile } from '../checkpoint/index.js';
import {
  PATCHED_COMPONENTS,
  type LoraTag,
  type LowRank,
  type NetworkPatch,
  type PatchableWeight,
  type PatchedComponent,
  type WeightDelta,
} from '../pipeline/index.js';
import { NetworkError } from './errors.js';
import { networkName, openNetworkFile, readTensor } from './network-file.js';

/** One module's change: one product up·down (LoRA), or two multiplied element-wise (LoHa). */
interface LoraModule {
  readonly component: PatchedComponent;
  /** The family its prefix marks, if it marks one. */
  readonly family: LoraFamily;
  /** The module path with `_` for `.` (kohya's spelling, to which PEFT's is brought). */
  readonly path: string;
  /** Tensor names of each product's up `[out, rank(, 1, 1)]` and down `[rank, in(, kh, kw)]`. */
  readonly factors: readonly (readonly [up: string, down: string])[];
  readonly alpha: string | undefined;
}

/** How each kind names a product's down and up factors: the module is found by its first down factor. */
const KINDS: readonly (readonly (readonly [down: string, up: string])[])[] = [
  [['.lora_down.weight', '.lora_up.weight']],
  [['.lora_A.weight', '.lora_B.weight']],
  [
    ['.hada_w1_b', '.hada_w1_a'],
    ['.hada_w2_b', '.hada_w2_a'],
  ],
];

/**
 * The family a LoRA's text-encoder keys say it was trained for: `sdxl` (two encoders), `sd` (SD 1.x / 2.x: one),
 * or undefined when it changes only the UNet (its shapes decide).
 */
export type LoraFamily = 'sd' | 'sdxl' | undefined;

/** A LoRA file read: its name (the file's), A1111's hash (`Lora hashes`), its modules and the family they name. */
export interface LoadedLora {
  readonly name: string;
  readonly file: string;
  readonly hash: string;
  readonly tensors: SafetensorsFile;
  readonly modules: readonly LoraModule[];
  readonly family: LoraFamily;
}

/** Module prefixes, each with its component and the family it marks (longest first where one starts another). */
const KOHYA_PREFIXES: readonly (readonly [string, PatchedComponent, LoraFamily])[] = [
  ['lora_unet_', 'unet', undefined],
  ['lora_te_', 'text_encoder', 'sd'],
  ['lora_te1_', 'text_encoder', 'sdxl'],
  ['lora_te2_', 'text_encoder_2', 'sdxl'],
];
const PEFT_PREFIXES: readonly (readonly [string, PatchedComponent, LoraFamily])[] = [
  ['unet.', 'unet', undefined],
  ['text_encoder_2.', 'text_encoder_2', 'sdxl'],
  ['text_encoder.', 'text_encoder', undefined],
];

/** Suffixes of kinds dreamcord does not merge yet, and their names for the refusal. */
const UNSUPPORTED_KINDS: readonly [string, string][] = [
  ['.hada_t1', 'a Tucker-decomposed LoHa'],
  ['.lokr_w1', 'LoKr'],
  ['.lokr_w1_a', 'LoKr'],
  ['.lora_mid.weight', 'a Tucker-decomposed LoCon'],
];

/**
 * Reads a LoRA's `.safetensors` file (headers and its hash; values when a patch is made).
 * @throws NetworkError `PICKLE_REFUSED`, `NOT_FOUND`, `UNREADABLE`, `UNSUPPORTED` (LoKr, Tucker), `NOT_A_NETWORK`
 *   (no LoRA keys, or text-encoder keys of both SD 1.x's and SDXL's naming).
 */
export async function readLora(file: string): Promise<LoadedLora> {
  const tensors = openNetworkFile(file, 'LoRA');
  const names = tensors.names();
  for (const [suffix, kind] of UNSUPPORTED_KINDS) {
    if (names.some((name) => name.endsWith(suffix))) {
      throw new NetworkError('UNSUPPORTED', file, `${basename(file)} is ${kind}, which dreamcord does not apply yet (LoRA, LoCon and LoHa are)`);
    }
  }
  const modules = names.flatMap((name) => moduleOf(name, names));
  if (modules.length === 0) {
    throw new NetworkError('NOT_A_NETWORK', file, `${basename(file)} is not a LoRA: it has no lora_down/lora_up, lora_A/lora_B or hada_ weights`);
  }
  const families = new Set(modules.flatMap((module) => (module.family ? [module.family] : [])));
  if (families.size > 1) {
    throw new NetworkError('NOT_A_NETWORK', file, `${basename(file)} names text encoders of both SD 1.x (lora_te_) and SDXL (lora_te1_, lora_te2_)`);
  }
  const [family] = families;
  return { name: networkName(file), file, hash: await addnetHash(file), tensors, modules, family };
}

/** The module `name` is the first down factor of, if it is one (so each module is found once). */
function moduleOf(name: string, names: readonly string[]): LoraModule[] {
  for (const kind of KINDS) {
    const [firstDown = ''] = kind[0] ?? [];
    if (!name.endsWith(firstDown)) continue;
    const stem = name.slice(0, -firstDown.length);
    const located = locate(stem);
    const factors = kind.map(([down, up]) => [stem + up, stem + down] as const);
    if (!located || !factors.every((pair) => pair.every((factor) => names.includes(factor)))) return [];
    const alpha = names.includes(`${stem}.alpha`) ? `${stem}.alpha` : undefined;
    return [{ ...located, factors, alpha }];
  }
  return [];
}

/** The component, family and kohya-spelled path of a module key, in kohya's or PEFT's naming. */
function locate(stem: string): { component: PatchedComponent; family: LoraFamily; path: string } | undefined {
  for (const [prefix, component, family] of KOHYA_PREFIXES) {
    if (stem.startsWith(prefix)) return { component, family, path: stem.slice(prefix.length) };
  }
  const unwrapped = stem.replace(/^base_model\.model\./, '');
  for (const [prefix, component, family] of PEFT_PREFIXES) {
    if (unwrapped.startsWith(prefix)) return { component, family, path: unwrapped.slice(prefix.length).replaceAll('.', '_') };
  }
  return undefined;
}

/**
 * The changes `lora` makes at `tag`'s strengths to a model with `weights` (`ModelInfo.patchableWeights`).
 * @throws NetworkError `NOT_A_NETWORK` when its text-encoder keys name another family than the model's (SDXL's two
 *   encoders against SD 1.x's one), when none of its modules is a layer of the model (a LoRA for another family, or
 *   in a naming dreamcord does not read), or when a module's shape does not fit its layer.
 */
export function loraPatch(
  lora: LoadedLora,
  tag: LoraTag,
  weights: Readonly<Record<PatchedComponent, readonly PatchableWeight[]>>,
): NetworkPatch {
  checkFamily(lora, weights);
  const layers = layerIndex(weights);
  // Counted by name whatever the layout suffix (the CUDA form stores convolutions as `….weight:nhwc`).
  const layersPerBlock = weights.unet.filter((weight) => /^down_blocks\.0\.resnets\.\d+\.conv1\.weight(:|$)/.test(weight.name)).length;
  const deltas: Record<PatchedComponent, WeightDelta[]> = { text_encoder: [], text_encoder_2: [], unet: [] };
  for (const module of lora.modules) {
    const path = module.component === 'unet' ? (diffusersPath(module.path, layersPerBlock) ?? module.path) : module.path;
    const layer = layers.get(`${module.component}:${path}`);
    if (!layer) continue;
    const multiplier = module.component === 'unet' ? tag.unet : tag.te;
    deltas[module.component].push(moduleDelta(lora, module, layer, multiplier));
  }
  if (PATCHED_COMPONENTS.every((component) => deltas[component].length === 0)) {
    throw new NetworkError('NOT_A_NETWORK', lora.file, `${basename(lora.file)} changes none of this model's layers (a LoRA for another model family?)`);
  }
  return { id: `${lora.hash}:${tag.te}:${tag.unet}`, deltas };
}

/** Refuses a LoRA whose text-encoder keys name the other family: SDXL's model has a second text encoder. */
function checkFamily(lora: LoadedLora, weights: Readonly<Record<PatchedComponent, readonly PatchableWeight[]>>): void {
  const model: LoraFamily = weights.text_encoder_2.length > 0 ? 'sdxl' : 'sd';
  if (lora.family === undefined || lora.family === model) return;
  const names: Record<'sd' | 'sdxl', string> = { sd: 'SD 1.x / 2.x', sdxl: 'SDXL' };
  const message = `${basename(lora.file)} is a LoRA for ${names[lora.family]} models; this model is ${names[model]}`;
  throw new NetworkError('NOT_A_NETWORK', lora.file, message);
}

/**
 * A UNet module path in LDM's naming (`input_blocks_1_1_transformer_blocks_0_attn1_to_q`, as some trainers write
 * it) in diffusers' (`down_blocks_0_attentions_0_…`), through the checkpoint reader's renaming; undefined for others.
 */
function diffusersPath(path: string, layersPerBlock: number): string | undefined {
  const m = /^(input_blocks|output_blocks|middle_block)_(\d+)_(?:(\d+)_)?(.+)$/.exec(path);
  if (!m) return undefined;
  const [, block = '', first = '', second, rest = ''] = m;
  const indices = second === undefined ? first : `${first}.${second}`;
  // A resnet's LDM parts are numbered Sequential slots (`in_layers.2`); every other part keeps its name.
  const dottedRest = rest.replace(/^(in_layers|out_layers|emb_layers)_(\d+)$/, '$1.$2');
  const renamed = ldmUnetName(`${block}.${indices}.${dottedRest}.weight`, layersPerBlock);
  return renamed?.slice(0, -'.weight'.length).replaceAll('.', '_');
}

/** Each patchable layer by component and kohya-spelled module path: Linear weights (`:T`) and convolutions. */
function layerIndex(weights: Readonly<Record<PatchedComponent, readonly PatchableWeight[]>>): Map<string, PatchableWeight> {
  const index = new Map<string, PatchableWeight>();
  for (const component of PATCHED_COMPONENTS) {
    for (const weight of weights[component]) {
      const linear = weight.name.endsWith('.weight:T');
      if (!linear && !(weight.name.endsWith('.weight') && weight.dims.length === 4)) continue;
      const path = weight.name.slice(0, weight.name.lastIndexOf('.weight')).replaceAll('.', '_');
      index.set(`${component}:${path}`, weight);
    }
  }
  return index;
}

/** The module's change in its layer's stored layout, scaled by m · alpha / rank (rank: the first product's). */
function moduleDelta(lora: LoadedLora, module: LoraModule, layer: PatchableWeight, multiplier: number): WeightDelta {
  const [first, second] = module.factors.map(([up, down]) => product(lora, up, down, layer));
  if (!first) throw new RangeError(`module ${module.path} has no factors`);
  const alpha = module.alpha === undefined ? first.rank : (readTensor(lora.tensors, module.alpha)[0] ?? first.rank);
  const scale = (multiplier * alpha) / first.rank;
  return { weight: layer.name, ...first, scale, ...(second ? { hadamard: second } : {}) };
}

/**
 * up·down in the layer's stored layout: a Linear layer is stored transposed (`[in, out]`), so a = downᵀ, b = upᵀ; a
 * convolution `[out, in, kh, kw]` takes a = up, b = down flattened.
 */
function product(lora: LoadedLora, upName: string, downName: string, layer: PatchableWeight): LowRank {
  const up = readTensor(lora.tensors, upName);
  const down = readTensor(lora.tensors, downName);
  const [rank = 0] = lora.tensors.info(downName).shape;
  const [rows = 0, ...rest] = layer.dims;
  const columns = rest.reduce((size, d) => size * d, 1);
  const [a, b] = layer.name.endsWith(':T') ? [transpose(down, rank), transpose(up, up.length / rank)] : [up, down];
  if (a.length !== rows * rank || b.length !== rank * columns) {
    const message = `${basename(lora.file)}: ${downName} does not fit ${layer.name} [${layer.dims.join(', ')}] (a LoRA for another model family?)`;
    throw new NetworkError('NOT_A_NETWORK', lora.file, message);
  }
  return { a, b, rank };
}

/** `[rows, columns]` → `[columns, rows]`. */
function transpose(values: Float32Array, rows: number): Float32Array {
  const columns = values.length / rows;
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c] ?? 0;
  return out;
}

/**
 * A1111's LoRA hash (`Lora hashes`, kohya's "addnet" hash): the first 12 hex digits of the sha256 of the file after
 * its header, so that editing the metadata keeps it.
 */
async function addnetHash(file: string): Promise<string> {
  const fd = openSync(file, 'r');
  const length = Buffer.alloc(8);
  try {
    readSync(fd, length, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { start: 8 + Number(length.readBigUInt64LE(0)) })) hash.update(chunk as Buffer);
  return hash.digest('hex').slice(0, 12);
}

/** The LoRAs of a folder, each read once, by the name prompts call it by (`<lora:name:…>` → `dir/name.safetensors`). */
export class LoraLibrary {
  readonly #loaded = new Map<string, Promise<LoadedLora>>();

  constructor(readonly dir: string) {}

  /**
   * The patches `tags` call, for a model with `weights`, in order; A1111's `Lora hashes` value ("name: hash, …"); and
   * a warning for each LoRA of which only some modules are layers of the model (the rest are left out, as A1111 does).
   * @throws NetworkError as {@link readLora} and {@link loraPatch} do; `NOT_FOUND` naming the folder.
   */
  async patches(
    tags: readonly LoraTag[],
    weights: Readonly<Record<PatchedComponent, readonly PatchableWeight[]>>,
  ): Promise<{ patches: NetworkPatch[]; hashes: string; warnings: string[] }> {
    const patches: NetworkPatch[] = [];
    const hashes: string[] = [];
    const warnings: string[] = [];
    for (const tag of tags) {
      const lora = await this.#read(tag.name);
      const patch = loraPatch(lora, tag, weights);
      // One change per module that matched a layer.
      const matched = PATCHED_COMPONENTS.reduce((sum, component) => sum + patch.deltas[component].length, 0);
      if (matched < lora.modules.length) {
        warnings.push(`Only ${matched} of the ${lora.modules.length} layers the LoRA ${tag.name} changes are in this model; the others were left out.`);
      }
      patches.push(patch);
      hashes.push(`${tag.name}: ${lora.hash}`);
    }
    return { patches, hashes: hashes.join(', '), warnings };
  }

  #read(name: string): Promise<LoadedLora> {
    let loaded = this.#loaded.get(name);
    if (!loaded) {
      const file = join(this.dir, `${name}.safetensors`);
      loaded = existsSync(file)
        ? readLora(file)
        : Promise.reject(new NetworkError('NOT_FOUND', file, `There is no LoRA called ${name} in ${this.dir}`));
      this.#loaded.set(name, loaded);
      loaded.catch(() => this.#loaded.delete(name));
    }
    return loaded;
  }
}

/** A LoRA of a folder as members choose it: its name and what A1111's sidecar `name.json` says about it. */
export interface LoraListing {
  readonly name: string;
  /** The sidecar's `activation text`: the trigger words the LoRA was trained with ('' when none). */
  readonly activationText: string;
  /** The sidecar's `preferred weight` (1 when none, or 0 as A1111 writes for "unset"). */
  readonly preferredWeight: number;
}

/** The LoRAs in `dir` (its `.safetensors` files), sorted by name; none when it cannot be read. */
export function listLoras(dir: string): LoraListing[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => extname(file).toLowerCase() === '.safetensors');
  } catch {
    return [];
  }
  return files.map((file) => ({ name: networkName(file), ...readSidecar(join(dir, `${networkName(file)}.json`)) })).sort((a, b) => a.name.localeCompare(b.name));
}

/** A1111's per-network `name.json` (written by its extra-networks editor); a missing or broken one says nothing. */
function readSidecar(file: string): Omit<LoraListing, 'name'> {
  let sidecar: Record<string, unknown> = {};
  try {
    sidecar = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    // No sidecar, or not JSON: the LoRA is listed without trigger words.
  }
  const text = sidecar['activation text'];
  const weight = sidecar['preferred weight'];
  return {
    activationText: typeof text === 'string' ? text.trim() : '',
    preferredWeight: typeof weight === 'number' && Number.isFinite(weight) && weight !== 0 ? weight : 1,
  };
}
