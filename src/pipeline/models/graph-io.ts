import { PipelineError } from '../errors.js';
import type { ModelSession } from '../runtime/session.js';
import type { HostTensor, TensorInfo } from '../runtime/tensor.js';

/**
 * The input or output `name` of `session` (`name` undefined means the first one), checked to be a
 * tensor of one of `types` with `rank` dimensions.
 * @throws PipelineError `MODEL_UNSUPPORTED` naming the file, the tensor and what was expected.
 */
export function requireTensor(
  session: ModelSession,
  role: 'input' | 'output',
  name: string | undefined,
  types: readonly string[],
  rank: number,
): TensorInfo {
  const all = role === 'input' ? session.inputs : session.outputs;
  const info = name === undefined ? all[0] : all.find((t) => t.name === name);
  if (!info) {
    throw new PipelineError(
      'MODEL_UNSUPPORTED',
      `${session.file} has no ${role} ${name ?? ''} (it has ${all.map((t) => t.name).join(', ') || 'none'})`,
      { file: session.file },
    );
  }
  if (!types.includes(info.type) || info.shape.length !== rank) {
    throw new PipelineError(
      'MODEL_UNSUPPORTED',
      `${role} ${info.name} of ${session.file} is ${info.type}[${info.shape.join(',')}]; ` +
        `expected ${types.join(' or ')} with ${rank} dimensions`,
      { file: session.file },
    );
  }
  return info;
}

/** Dimension `index` of `info` when the graph fixes it, else undefined (a symbolic axis such as `batch`). */
export function fixedDim(info: TensorInfo, index: number): number | undefined {
  const dim = info.shape[index];
  return typeof dim === 'number' && dim > 0 ? dim : undefined;
}

/** Every input of `session` other than `known`: the pipeline cannot feed them. */
export function rejectUnknownInputs(session: ModelSession, known: readonly string[]): void {
  const extra = session.inputs.filter((t) => !known.includes(t.name)).map((t) => t.name);
  if (extra.length > 0) {
    throw new PipelineError(
      'MODEL_UNSUPPORTED',
      `${session.file} has inputs dreamcord does not know how to feed: ${extra.join(', ')} ` +
        `(expected ${known.join(', ')})`,
      { file: session.file },
    );
  }
}

/**
 * Output `name` of a finished run.
 * @throws PipelineError `RUNTIME_ERROR` when ONNX Runtime did not return it.
 */
export function outputOf(
  results: Readonly<Record<string, HostTensor>>,
  name: string,
  session: ModelSession,
): HostTensor {
  const tensor = results[name];
  if (!tensor) {
    throw new PipelineError('RUNTIME_ERROR', `${session.file} returned no ${name}`, { file: session.file });
  }
  return tensor;
}
