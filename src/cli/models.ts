import { parseArgs } from 'node:util';
import { existsSync, mkdirSync } from 'node:fs';
import { readManifest } from '../convert/convert.js';
import { familyById } from '../checkpoint/index.js';
import { addModel, readCatalog, removeModel } from '../catalog/index.js';
import { prepareCliModel } from './cli-model.js';
import { UsageError, type CliCommand, type CliIO } from './command.js';
import { progressBar } from './progress-bar.js';

const USAGE = `Usage: dreamcord models list
       dreamcord models add <checkpoint path | https URL> [--sha256 HEX]
       dreamcord models remove <name>
  (each takes --dir DIR; default MODELS_DIR)

Manages the models in MODELS_DIR: every .safetensors file, diffusers folder or ONNX folder in it is a model,
named by its file name; an optional <name>.json beside it gives a displayName, description, nsfw flag,
prediction (epsilon or v), zeroTerminalSnr and defaults (steps, cfg, sampler, aspect).
  list             each model with its form and what its sidecar says; problems (a sidecar that is not valid,
                   two models of one name) on stderr
  add SOURCE       copies a file or folder, or downloads a URL (a broken download resumes when added again),
                   checks --sha256 when given (a mismatch deletes the file) and the safetensors header, converts
                   it into MODEL_CACHE_DIR as MODEL_DTYPE, and prints the model's name and family
  remove NAME      deletes the model and its sidecar (its conversion stays in the cache)
  --dir DIR        the models folder (default: the MODELS_DIR environment variable)
  --sha256 HEX     the expected sha256 of the file`;

const OPTIONS = { dir: { type: 'string' }, sha256: { type: 'string' } } as const;

/** `dreamcord models`: list, add and remove the models of `MODELS_DIR`. */
export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'List, add (copy or download, with checksum) and remove the models of MODELS_DIR',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv);
    const [action, target, ...extra] = positionals;
    const dir = values.dir ?? process.env.MODELS_DIR;
    if (dir === undefined || dir === '') throw new UsageError('set MODELS_DIR or give --dir DIR');
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    if (values.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(values.sha256)) {
      throw new UsageError('--sha256 must be 64 hex digits');
    }
    switch (action) {
      case 'list':
        if (target !== undefined) throw new UsageError('list takes no argument');
        return list(dir, io);
      case 'add':
        if (target === undefined) throw new UsageError('add needs a checkpoint path or an https URL');
        return add(dir, target, values.sha256, io);
      case 'remove': {
        if (target === undefined) throw new UsageError('remove needs a model name');
        const removed = await removeModel(dir, target);
        io.stdout.write(`removed ${removed.name} (${removed.path})\n`);
        return;
      }
      default:
        throw new UsageError(action === undefined ? 'give list, add or remove' : `unknown action "${action}"`);
    }
  },
};

function list(dir: string, io: CliIO): void {
  if (!existsSync(dir)) throw new Error(`${dir} does not exist`);
  const { models, problems } = readCatalog(dir);
  for (const model of models) {
    const shown = model.sidecar?.displayName ? ` "${model.sidecar.displayName}"` : '';
    const nsfw = model.sidecar?.nsfw ? ' nsfw' : '';
    io.stdout.write(`${model.name}${shown} (${model.form}${nsfw})\n`);
  }
  for (const problem of problems) io.stderr.write(`warning: ${problem}\n`);
  if (models.length === 0) io.stderr.write(`${dir} holds no models\n`);
}

async function add(dir: string, source: string, sha256: string | undefined, io: CliIO): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tty = io.stderr.isTTY === true;
  let lastPercent = -1;
  const added = await addModel(source, dir, {
    sha256,
    onProgress: (done, total) => {
      if (!tty || total === undefined) return;
      const percent = Math.floor((done / total) * 100);
      if (percent === lastPercent) return;
      lastPercent = percent;
      io.stderr.write(`\r${progressBar(done / total)} ${String(percent).padStart(3)}% ${(done / 2 ** 20).toFixed(0)} MiB`);
      if (done >= total) io.stderr.write('\n');
    },
  });
  const prepared = await prepareCliModel(added.path, io);
  const family = readManifest(prepared.dir)?.family;
  const label = family === undefined ? added.family.label : familyById(family).label;
  io.stdout.write(`added ${added.name}: ${label}, sha256 ${added.sha256.slice(0, 10)}\n`);
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
