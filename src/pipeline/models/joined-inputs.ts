import { concatRows, constantTensor, isConstantTensor, type HostTensor } from '../runtime/tensor.js';

/** A number per tensor object, for keys made of tensors (a WeakMap: tensors of finished jobs are not kept). */
const ids = new WeakMap<HostTensor, number>();
let nextId = 0;

function idOf(tensor: HostTensor): number {
  let id = ids.get(tensor);
  if (id === undefined) {
    id = nextId++;
    ids.set(tensor, id);
  }
  return id;
}

/**
 * The inputs of a batch's model runs, each joined from its calls' rows and kept from run to run (one per set of
 * tensors joined): joined from the same constant tensors (the jobs' text conditioning) it is the same constant tensor
 * at every step, so a session may keep it bound for the whole batch (the native bridge's IoBinding); joined from
 * tensors whose values change (the samples, a timestep per row) it is rewritten in place, so its buffer is the same
 * at every step too. One per batch: what it keeps lives as long as the batch.
 */
export class JoinedInputs {
  readonly #joined = new Map<string, HostTensor>();

  /**
   * `parts` joined along their first axis (see {@link concatRows}); valid until the next join of the same parts. One
   * part is itself: a run of one call is fed as that call alone would be.
   */
  join(parts: readonly HostTensor[]): HostTensor {
    if (parts.length === 1 && parts[0]) return parts[0];
    const key = parts.map(idOf).join(',');
    const kept = this.#joined.get(key);
    const constant = parts.every(isConstantTensor);
    if (kept && constant) return kept;
    const joined = concatRows(parts, kept);
    if (!kept) this.#joined.set(key, constant ? constantTensor(joined, 'batch') : joined);
    return joined;
  }
}
