import { parseArgs } from 'node:util';
import { familyById } from '../checkpoint/index.js';
import { convertCheckpoint, type ConvertProgress } from '../convert/convert.js';
import { UsageError, type CliCommand, type CliIO } from './command.js';
import { exitCodeHelp } from './exit-codes.js';
import { progressBar } from './progress-bar.js';

const USAGE = `Usage: dreamcord convert <checkpoint.safetensors | diffusers folder> --out DIR [--dtype fp32|fp16] [--target portable|cuda]

Converts a Stable Diffusion 1.x or 2.x checkpoint (an AUTOMATIC1111 / Civitai single .safetensors file, or a
diffusers folder) into the ONNX folder dreamcord runs, with nothing but Node. DIR must not exist yet; it appears
only when the conversion is complete. .ckpt files are refused (loading one runs code from the file).
  --out DIR        the folder to create
  --dtype TYPE     fp32 (default; best on the CPU) or fp16 (half the size; for GPUs)
  --target FORM    portable (default: runs on every execution provider) or cuda (fp16 with ONNX Runtime's
                   fused CUDA operators: runs only on the CUDA provider, about twice as fast there)

${exitCodeHelp()}`;

const OPTIONS = {
  out: { type: 'string' },
  dtype: { type: 'string' },
  target: { type: 'string', default: 'portable' },
} as const;

/** `dreamcord convert`: one checkpoint to one ONNX folder, with a progress bar on a terminal. */
export const convertCommand: CliCommand = {
  name: 'convert',
  summary: 'Convert a .safetensors checkpoint or diffusers folder into an ONNX model folder',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv);
    const [source, ...extra] = positionals;
    if (source === undefined || extra.length > 0) throw new UsageError('give exactly one checkpoint file or folder');
    if (values.out === undefined) throw new UsageError('--out DIR is required');
    const target = values.target;
    if (target !== 'portable' && target !== 'cuda') throw new UsageError(`--target must be portable or cuda, not ${target}`);
    const dtype = values.dtype ?? (target === 'cuda' ? 'fp16' : 'fp32');
    if (dtype !== 'fp32' && dtype !== 'fp16') throw new UsageError(`--dtype must be fp32 or fp16, not ${dtype}`);
    if (target === 'cuda' && dtype !== 'fp16') throw new UsageError('--target cuda is fp16 only (its fused kernels are); leave out --dtype');
    const started = Date.now();
    const result = await convertCheckpoint(source, values.out, {
      dtype,
      target,
      onProgress: progressReporter(io),
      onWarning: (message) => io.stderr.write(`warning: ${message}\n`),
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const family = familyById(result.manifest.family).label;
    io.stdout.write(`${result.outDir}: ${family}, ${dtype}${target === 'cuda' ? ' (cuda form)' : ''}, converted in ${seconds} s\n`);
  },
};

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** On a terminal a bar redrawn in place (at most once per percent); otherwise one line per component. */
export function progressReporter(io: CliIO): (progress: ConvertProgress) => void {
  const tty = io.stderr.isTTY === true;
  let lastComponent = '';
  let lastPercent = -1;
  return ({ component, fraction }) => {
    const percent = Math.floor(fraction * 100);
    if (!tty) {
      if (component !== lastComponent) io.stderr.write(`converting ${component} (${percent}%)\n`);
    } else if (percent !== lastPercent || component !== lastComponent) {
      io.stderr.write(`\r${progressBar(fraction)} ${String(percent).padStart(3)}% ${component.padEnd(12)}`);
      if (fraction >= 1) io.stderr.write('\n');
    }
    lastComponent = component;
    lastPercent = percent;
  };
}
