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

/** A join kept from run to run, and what its parts belong to (see {@link JoinedInputs.forget}). */
interface Kept {
  readonly tensor: HostTensor;
  readonly owners: readonly object[];
}

/**
 * The inputs of a batch's model runs, each joined from its calls' rows and kept from run to run (one per set of
 * tensors joined): joined from the same constant tensors (the jobs' text conditioning) it is the same constant tensor
 * at every step, so a session may keep it bound for the whole batch (the native bridge's IoBinding); joined from
 * tensors whose values change (the samples, a timestep per row) it is rewritten in place, so its buffer is the same
 * at every step too. One per batch: a join is kept until one of its parts' owners leaves the batch ({@link forget}).
 */
export class JoinedInputs {
  readonly #joined = new Map<string, Kept>();

  /**
   * `parts` joined along their first axis (see {@link concatRows}); valid until the next join of the same parts. One
   * part is itself: a run of one call is fed as that call alone would be.
   * @param owners - what the parts belong to (the calls' loop inputs), for {@link forget}.
   */
  join(parts: readonly HostTensor[], owners: readonly object[]): HostTensor {
    if (parts.length === 1 && parts[0]) return parts[0];
    const key = parts.map(idOf).join(',');
    const kept = this.#joined.get(key)?.tensor;
    const constant = parts.every(isConstantTensor);
    if (kept && constant) return kept;
    const joined = concatRows(parts, kept);
    if (!kept) this.#joined.set(key, { tensor: constant ? constantTensor(joined, 'batch') : joined, owners });
    return joined;
  }

  /**
   * Drops the joins with a part of `owners` (a member that left the batch): no later run joins those parts again,
   * and a batch's mix of members changes each time one leaves, so each mix would be kept to the batch's end.
   */
  forget(owners: ReadonlySet<object>): void {
    for (const [key, kept] of this.#joined) {
      if (kept.owners.some((owner) => owners.has(owner))) this.#joined.delete(key);
    }
  }
}
