// dreamcord/checkpoint: read the Stable Diffusion models people hold (A1111 single-file .safetensors, diffusers
// folders) into components under reference names, for the ONNX graph writers of src/convert.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { CheckpointComponents } from './components.js';
import { folderComponents, isDiffusersFolder } from './diffusers-folder.js';
import { CheckpointError } from './errors.js';
import { familyById, type FamilyRow } from './families.js';
import { SafetensorsFile, type SafetensorsOptions } from './safetensors.js';
import { markedSampling, singleFileComponents } from './single-file.js';

export { CheckpointError, isCheckpointError, type CheckpointErrorCode } from './errors.js';
export { FAMILIES, familyById, type FamilyRow } from './families.js';
export { SafetensorsFile, type SafetensorsOptions, type TensorInfo } from './safetensors.js';
export { isDiffusersFolder } from './diffusers-folder.js';
export { ldmUnetName } from './ldm-names.js';

export interface OpenedCheckpoint {
  readonly components: CheckpointComponents;
  readonly family: FamilyRow;
  /**
   * The scheduler config to write: a folder's own, else the family's (SD 1.5's or SDXL base's for a single file)
   * with what the file's marker keys say (`v_pred`, `ztsnr`: see `markedSampling`).
   */
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  /**
   * What a single file's marker keys say of its sampling (`markedSampling`), as scheduler config keys already laid
   * over `schedulerConfig`; empty for a diffusers folder, whose own scheduler config says it.
   */
  readonly sampling: Readonly<Record<string, unknown>>;
  /** A folder's own tokenizer; undefined means the CLIP tokenizer bundled with dreamcord. */
  readonly tokenizerDir: string | undefined;
  /** A folder's own second tokenizer (SDXL); undefined means the bundled one, padding with `!`. */
  readonly tokenizer2Dir: string | undefined;
  /**
   * diffusers' `force_zeros_for_empty_prompt` (SDXL): no negative prompt conditions on zeros, not on the encoded
   * empty text. A folder's own setting, else true for SDXL (its base model's), false otherwise.
   */
  readonly forceZerosForEmptyPrompt: boolean;
}

/** Extensions of PyTorch's pickle-based formats. */
const PICKLE_EXTENSIONS = new Set(['.ckpt', '.pt', '.pth', '.bin', '.pkl']);

/**
 * Opens a single-file `.safetensors` checkpoint or a diffusers folder. Only headers are read here; tensors are
 * read when the graph writers ask for them.
 * @throws CheckpointError with a code per kind of bad input (see {@link CheckpointErrorCode}).
 */
export function openCheckpoint(path: string, options: SafetensorsOptions = {}): OpenedCheckpoint {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    throw new CheckpointError('NOT_FOUND', path, `${path} does not exist or cannot be read`, { cause: error });
  }
  if (isDirectory) {
    if (existsSync(join(path, 'unet', 'model.onnx'))) {
      throw new CheckpointError('NOT_A_CHECKPOINT', path, `${path} is already an ONNX model folder: use it as it is`);
    }
    if (!isDiffusersFolder(path)) {
      const message = `${path} is neither a diffusers folder (unet/config.json) nor a .safetensors file`;
      throw new CheckpointError('NOT_A_CHECKPOINT', path, message);
    }
    const folder = folderComponents(path, options);
    const family = familyById(folder.components.family);
    return {
      ...folder,
      family,
      schedulerConfig: folder.schedulerConfig ?? family.schedulerConfig,
      sampling: {},
      forceZerosForEmptyPrompt: folder.forceZerosForEmptyPrompt ?? family.textEncoder2 !== undefined,
    };
  }
  refusePickle(path);
  const file = SafetensorsFile.open(path, options);
  const components = singleFileComponents(file);
  const family = familyById(components.family);
  const sampling = markedSampling(file, family);
  return {
    components,
    family,
    schedulerConfig: { ...family.schedulerConfig, ...sampling },
    sampling,
    tokenizerDir: undefined,
    tokenizer2Dir: undefined,
    forceZerosForEmptyPrompt: family.textEncoder2 !== undefined,
  };
}

/**
 * A `.ckpt` is a Python pickle: unpickling runs code the file chooses. Refused by extension and by content (a
 * pickle's protocol mark 0x80 then 2–5, or the zip container of `torch.save`), without ever parsing it. A
 * safetensors file has its JSON's `{` at byte 8 (its first bytes are a length, and may well be 0x80).
 */
function refusePickle(path: string): void {
  const head = Buffer.alloc(9);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const safetensors = head[8] === 0x7b;
  const pickle = head[0] === 0x80 && (head[1] ?? 0) >= 2 && (head[1] ?? 0) <= 5;
  const zip = head.subarray(0, 4).toString('latin1') === 'PK\x03\x04';
  if (PICKLE_EXTENSIONS.has(extname(path).toLowerCase()) || (!safetensors && (pickle || zip))) {
    throw new CheckpointError(
      'PICKLE_REFUSED',
      path,
      `${basename(path)} is a PyTorch pickle (.ckpt): loading one runs code from the file, so dreamcord refuses it. ` +
        'Download the .safetensors version of this model (most sites offer one).',
    );
  }
}
