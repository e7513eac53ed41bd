import { readFile } from 'node:fs/promises';
import { PipelineError } from '../errors.js';
import type { ExecutionProvider } from '../runtime/providers.js';
import type { SessionFactory } from '../runtime/session-factory.js';
import type { ModelSession } from '../runtime/session.js';
import { readFloats, type HostTensor } from '../runtime/tensor.js';
import type { LowRank, NetworkPatch, PatchableWeight, PatchedComponent, WeightDelta } from './patch.js';

/** Merged weight sets kept per component: the last two, so alternating between two LoRA sets merges nothing. */
const KEPT_SETS = 2;

/**
 * One component's weights with networks merged in, in ONNX Runtime: each changed weight is read from the
 * component's `model.onnx_data` by its offset, `weight_ops` adds scale · a·b, and a session is created on the
 * copy. The last {@link KEPT_SETS} merged sessions are kept, the oldest released when a new one is made.
 */
export class MergedWeights {
  readonly #kept = new Map<string, Promise<ModelSession>>();

  constructor(
    readonly component: PatchedComponent,
    private readonly file: string,
    private readonly table: ReadonlyMap<string, PatchableWeight>,
    private readonly weightOps: ModelSession,
    private readonly sessions: SessionFactory,
    private readonly provider: ExecutionProvider,
  ) {}

  /** The session with `patches` merged in, in order; made once per distinct list while it is kept. */
  session(patches: readonly NetworkPatch[]): Promise<ModelSession> {
    const key = patches.map((patch) => patch.id).join('\n');
    const kept = this.#kept.get(key);
    if (kept) {
      this.#kept.delete(key);
      this.#kept.set(key, kept);
      return kept;
    }
    const made = this.#merge(patches);
    this.#kept.set(key, made);
    made.catch(() => this.#kept.delete(key));
    for (const [oldKey, old] of this.#kept) {
      if (this.#kept.size <= KEPT_SETS) break;
      this.#kept.delete(oldKey);
      void old.then((session) => session.release(), () => undefined);
    }
    return made;
  }

  /** Releases every kept session. */
  async release(): Promise<void> {
    const kept = [...this.#kept.values()];
    this.#kept.clear();
    for (const settled of await Promise.allSettled(kept)) if (settled.status === 'fulfilled') await settled.value.release();
  }

  async #merge(patches: readonly NetworkPatch[]): Promise<ModelSession> {
    const data = await readFile(`${this.file}_data`);
    for (const patch of patches) {
      for (const delta of patch.deltas[this.component]) await this.#apply(data, delta);
    }
    return this.sessions.loadWithWeights(this.file, data, this.provider);
  }

  /** Adds one delta to its weight in `data`, in place. */
  async #apply(data: Buffer, delta: WeightDelta): Promise<void> {
    const weight = this.table.get(delta.weight);
    if (!weight) throw new PipelineError('INVALID_REQUEST', `${this.file} has no weight ${delta.weight}`, { field: 'networks' });
    const [rows = 0, ...rest] = weight.dims;
    const columns = rest.reduce((product, d) => product * d, 1);
    // Without a second product, c·d is all ones: one column of ones times one row of ones.
    const second = delta.hadamard ?? { a: new Float32Array(rows).fill(1), b: new Float32Array(columns).fill(1), rank: 1 };
    if (!fits(delta, rows, columns) || !fits(second, rows, columns)) {
      const message = `a change of ${delta.weight} is not ${rows} × ${columns} at rank ${delta.rank}`;
      throw new PipelineError('INVALID_REQUEST', message, { field: 'networks' });
    }
    const bytes = data.subarray(weight.offset, weight.offset + weight.length);
    const copy = new Uint8Array(bytes);
    const values: HostTensor =
      weight.type === 'float16'
        ? { type: 'float16', data: new Uint16Array(copy.buffer), dims: [rows, columns] }
        : { type: 'float32', data: new Float32Array(copy.buffer), dims: [rows, columns] };
    const out = await this.weightOps.run({
      weight: values,
      a: { type: 'float32', data: delta.a, dims: [rows, delta.rank] },
      b: { type: 'float32', data: delta.b, dims: [delta.rank, columns] },
      c: { type: 'float32', data: second.a, dims: [rows, second.rank] },
      d: { type: 'float32', data: second.b, dims: [second.rank, columns] },
      scale: { type: 'float32', data: Float32Array.of(delta.scale), dims: [] },
    });
    const merged = out['merged'];
    if (!merged) throw new PipelineError('RUNTIME_ERROR', `${this.weightOps.file} returned no merged weight`, { file: this.weightOps.file });
    const result = merged.type === 'float16' ? merged.data : readFloats(merged);
    bytes.set(new Uint8Array(result.buffer, result.byteOffset, result.byteLength));
  }
}

function fits(product: LowRank, rows: number, columns: number): boolean {
  return product.a.length === rows * product.rank && product.b.length === product.rank * columns;
}
