// Several generations' denoising loops sharing UNet runs. Each generation runs exactly as it would alone — its own
// prompt encoding, scheduler, noise generators, guidance and progress — but its UNet calls wait until every other
// member of the batch has made its call for the step (or left), and then calls that can share a run (same UNet
// session, same timestep, same shape after the batch axis) go to the model as ONE batch, at most `maxRows` rows per
// run. A UNet row's prediction does not depend on the other rows of its batch, so every picture is the one its
// request makes alone (bitwise on the CPU provider: test/pipeline/batch-generate.test.ts). The joined inputs are kept
// from step to step (`JoinedInputs`) until a member leaves: the joined text conditioning is one constant tensor, which
// the native bridge binds once per mix of members, as it binds a job's own once per job.
import { JoinedInputs } from './models/joined-inputs.js';
import type { ModelSession, RunClock } from './runtime/session.js';
import type { Unet, UnetCall, UnetInputs, UnetRouter } from './models/unet.js';

/** A call waiting for the others. */
interface Waiting {
  readonly unet: Unet;
  readonly call: UnetCall;
  readonly clock: RunClock | undefined;
  readonly resolve: (prediction: Float32Array) => void;
  readonly reject: (error: unknown) => void;
}

/** One generation's place in a {@link UnetBatch}. */
export interface UnetBatchMember {
  /** Routes a UNet's predictions through the batch (`unet.routedThrough(member.router)`). */
  readonly router: UnetRouter;
  /**
   * The generation makes no more UNet calls (its loops are done, it failed or it was cancelled): the others stop
   * waiting for it. Idempotent.
   */
  leave(): void;
}

/**
 * The rendezvous of a batch's UNet calls. Created for a fixed number of members, each of which must eventually
 * `leave()`: a member that fails or is cancelled leaves, and its rows simply stop being part of the runs.
 */
export class UnetBatch {
  readonly #maxRows: number;
  #active: number;
  #waiting: Waiting[] = [];
  readonly #joins = new JoinedInputs();
  readonly members: readonly UnetBatchMember[];

  /**
   * @param size - members (generations) in the batch. Minimum: 1.
   * @param maxRows - UNet batch rows per model run (a memory bound); a single call of more rows still runs, alone.
   *   Minimum: 1. @default unbounded
   */
  constructor(size: number, maxRows = Number.POSITIVE_INFINITY) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`Expected \`size\` to be an integer ≥ 1, got ${size}`);
    if (!(maxRows >= 1)) throw new RangeError(`Expected \`maxRows\` ≥ 1, got ${maxRows}`);
    this.#active = size;
    this.#maxRows = maxRows;
    this.members = Array.from({ length: size }, () => this.#member());
  }

  #member(): UnetBatchMember {
    let left = false;
    // The loop inputs this member's calls came with (one per loop: a hires fix's second pass has its own).
    const inputs = new Set<UnetInputs>();
    return {
      router: {
        predict: (unet, call, clock) =>
          new Promise<Float32Array>((resolve, reject) => {
            if (left) throw new Error('UnetBatch: a member called the UNet after leaving the batch');
            inputs.add(call.inputs);
            this.#waiting.push({ unet, call, clock, resolve, reject });
            this.#runWhenComplete();
          }),
      },
      leave: () => {
        if (left) return;
        left = true;
        this.#active -= 1;
        this.#joins.forget(inputs);
        this.#runWhenComplete();
      },
    };
  }

  /** Runs the waiting calls once every active member has one waiting. */
  #runWhenComplete(): void {
    if (this.#waiting.length === 0 || this.#waiting.length < this.#active) return;
    const calls = this.#waiting;
    this.#waiting = [];
    void this.#runInTurn(planRuns(calls, this.#maxRows));
  }

  /** One run after the other, so that `maxRows` bounds the memory of the runs in flight. */
  async #runInTurn(runs: readonly (readonly Waiting[])[]): Promise<void> {
    for (const run of runs) await this.#run(run);
  }

  async #run(run: readonly Waiting[]): Promise<void> {
    const [first] = run;
    if (!first) return;
    const clock: RunClock = { modelMs: 0 };
    try {
      const predictions = await first.unet.predictTogether(
        run.map((waiting) => waiting.call),
        clock,
        this.#joins,
      );
      run.forEach((waiting, i) => {
        // Each member's loop counts the time of the runs it took part in.
        if (waiting.clock) waiting.clock.modelMs += clock.modelMs;
        const prediction = predictions[i];
        if (prediction) waiting.resolve(prediction);
        else waiting.reject(new Error('UnetBatch: a run returned fewer predictions than calls'));
      });
    } catch (error) {
      for (const waiting of run) waiting.reject(error);
    }
  }
}

/**
 * The model runs for a set of calls: calls that can share a run (same session, timestep and shapes), in the order
 * they came, cut into runs of at most `maxRows` rows (a call is never split).
 */
function planRuns(calls: readonly Waiting[], maxRows: number): Waiting[][] {
  const groups = new Map<ModelSession, Map<string, Waiting[]>>();
  for (const waiting of calls) {
    let bySession = groups.get(waiting.unet.session);
    if (!bySession) {
      bySession = new Map();
      groups.set(waiting.unet.session, bySession);
    }
    const key = shareKey(waiting.call);
    const group = bySession.get(key);
    if (group) group.push(waiting);
    else bySession.set(key, [waiting]);
  }
  const runs: Waiting[][] = [];
  for (const bySession of groups.values()) {
    for (const group of bySession.values()) {
      let run: Waiting[] = [];
      let rows = 0;
      for (const waiting of group) {
        const callRows = rowsOf(waiting.call);
        if (run.length > 0 && rows + callRows > maxRows) {
          runs.push(run);
          run = [];
          rows = 0;
        }
        run.push(waiting);
        rows += callRows;
      }
      runs.push(run);
    }
  }
  return runs;
}

function rowsOf(call: UnetCall): number {
  return call.inputs.sample.dims[0] ?? 1;
}

/** What calls must share to run as one batch: the timestep, and every input's shape after the batch axis. */
function shareKey({ inputs, timestep }: UnetCall): string {
  const tail = (dims: readonly number[]) => dims.slice(1).join('x');
  const added = Object.entries(inputs.added).map(([name, tensor]) => `${name}:${tail(tensor.dims)}`);
  return [timestep, tail(inputs.sample.dims), tail(inputs.conditioning.dims), ...added].join('|');
}
