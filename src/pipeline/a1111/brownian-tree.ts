// The Brownian motion of A1111's SDE samplers: k-diffusion's `BrownianTreeNoiseSampler` (k_diffusion/sampling.py
// at A1111's pin) over torchsde 0.2.6's `BrownianTree` → `BrownianInterval` (halfway tree, tol 1e-6, pool size
// 24, no Lévy area), one tree per picture with the picture's seed as entropy. Every node's noise is a draw seeded
// by numpy's `SeedSequence(entropy, spawn_key=(key, depth))`; A1111 replaces torchsde's `_randn` with its own
// `randn_local(seed, shape)`, the first draw of a generator of its noise source seeded so (`draw` here).
// Values are float32 like torch's; the decomposition of each query into tree nodes follows torchsde's search
// (from the last interval found), so sums round as there.

/** A1111's `randn_local(seed, shape)` for one picture's latent shape. */
export type SeededDraw = (seed: number) => Float32Array;

const f32 = Math.fround;

// numpy's SeedSequence constants (numpy/random/bit_generator.pyx).
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const POOL_SIZE = 24;

/** numpy's `_int_to_uint32_array`: little-endian 32-bit words, `[0]` for 0. */
function uint32Words(value: bigint): number[] {
  if (value === 0n) return [0];
  const words: number[] = [];
  for (let rest = value; rest > 0n; rest >>= 32n) words.push(Number(rest & 0xffffffffn));
  return words;
}

/**
 * `np.random.SeedSequence(entropy, spawn_key, pool_size=24).generate_state(words)`: the uint32 seeds numpy
 * derives from an entropy and a spawn key.
 */
export function seedSequenceState(entropy: bigint, spawnKey: readonly bigint[], words: number): number[] {
  let run = uint32Words(entropy);
  const spawn = spawnKey.flatMap(uint32Words);
  if (spawn.length > 0 && run.length < POOL_SIZE) run = [...run, ...new Array<number>(POOL_SIZE - run.length).fill(0)];
  const entropyWords = [...run, ...spawn];
  let hashConst = INIT_A;
  const hashmix = (input: number): number => {
    let value = (input ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_A) >>> 0;
    value = Math.imul(value, hashConst) >>> 0;
    return (value ^ (value >>> 16)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    const result = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    return (result ^ (result >>> 16)) >>> 0;
  };
  const pool = Array.from({ length: POOL_SIZE }, (_, i) => hashmix(entropyWords[i] ?? 0));
  for (let source = 0; source < POOL_SIZE; source++) {
    for (let target = 0; target < POOL_SIZE; target++) {
      if (source !== target) pool[target] = mix(pool[target] ?? 0, hashmix(pool[source] ?? 0));
    }
  }
  for (let source = POOL_SIZE; source < entropyWords.length; source++) {
    for (let target = 0; target < POOL_SIZE; target++) pool[target] = mix(pool[target] ?? 0, hashmix(entropyWords[source] ?? 0));
  }
  let stateConst = INIT_B;
  return Array.from({ length: words }, (_, i) => {
    let value = ((pool[i % POOL_SIZE] ?? 0) ^ stateConst) >>> 0;
    stateConst = Math.imul(stateConst, MULT_B) >>> 0;
    value = Math.imul(value, stateConst) >>> 0;
    return (value ^ (value >>> 16)) >>> 0;
  });
}

/** Python's `round(x, 6)`, torchsde's quantisation at tol 1e-6 (decimal rounding of the exact binary value). */
const round6 = (x: number): number => Number(x.toFixed(6));

/** A node of the tree: the interval [start, end], split at `midway` into two children once asked. */
class Interval {
  readonly start: number;
  readonly end: number;
  midway: number | undefined;
  left: Interval | undefined;
  right: Interval | undefined;
  /** The seed of the noise that splits this node's increment between its children. */
  wSeed = 0;
  spawnKey = 0n;
  depth = 0;

  constructor(
    start: number,
    end: number,
    readonly parent: Interval | undefined,
    readonly isLeft: boolean,
    readonly tree: BrownianTree,
  ) {
    this.start = round6(start);
    this.end = round6(end);
  }

  /** `_loc_inner`: appends the existing or new nodes that make up [ta, tb] to `out`, in order. */
  locate(ta: number, tb: number, out: Interval[]): void {
    if (ta < this.start || tb > this.end) {
      this.parent?.locate(ta, tb, out);
      return;
    }
    if (ta === this.start && tb === this.end) {
      out.push(this);
      return;
    }
    if (this.midway === undefined) {
      this.split(ta === this.start ? tb : ta);
      (ta === this.start ? this.left : this.right)?.locate(ta, tb, out);
      return;
    }
    if (tb <= this.midway) this.left?.locate(ta, tb, out);
    else if (ta >= this.midway) this.right?.locate(ta, tb, out);
    else {
      this.left?.locate(ta, this.midway, out);
      this.right?.locate(this.midway, tb, out);
    }
  }

  /** `_split` of the halfway tree: split at the (rounded) middle, then on down towards `at`. */
  split(at: number): void {
    this.#splitExact(0.5 * (this.end + this.start));
    if (this.midway === undefined) return;
    if (at > this.midway) this.right?.split(at);
    else if (at < this.midway) this.left?.split(at);
  }

  #splitExact(midway: number): void {
    this.midway = round6(midway);
    if (this.parent) {
      this.spawnKey = 2n * this.parent.spawnKey + (this.isLeft ? 0n : 1n);
      this.depth = this.parent.depth + 1;
    }
    [this.wSeed = 0] = seedSequenceState(this.tree.entropy, [this.spawnKey, BigInt(this.depth)], 4);
    this.left = new Interval(this.start, midway, this, true, this.tree);
    this.right = new Interval(midway, this.end, this, false, this.tree);
  }
}

/** torchsde's `BrownianTree(t0, w0 = 0, t1, entropy, tol = 1e-6, pool_size = 24)` for one picture. */
export class BrownianTree {
  readonly entropy: bigint;
  readonly #root: Interval;
  readonly #draw: SeededDraw;
  readonly #increments = new Map<Interval, Float32Array>();
  #last: Interval;

  constructor(t0: number, t1: number, entropy: bigint, draw: SeededDraw) {
    this.entropy = entropy;
    this.#draw = draw;
    this.#root = new Interval(t0, t1, undefined, false, this);
    this.#last = this.#root;
    const [initialWSeed = 0] = seedSequenceState(entropy, [], 3);
    // The whole increment uses the unrounded bounds.
    const scale = f32(Math.sqrt(t1 - t0));
    this.#increments.set(this.#root, draw(initialWSeed).map((v) => f32(v * scale)));
  }

  /** `W(tb) − W(ta)` (`BrownianInterval.__call__`), with ta and tb clamped to the tree's rounded bounds. */
  increment(ta: number, tb: number): Float32Array {
    const start = Math.min(Math.max(ta, this.#root.start), this.#root.end);
    const end = Math.min(Math.max(tb, this.#root.start), this.#root.end);
    if (start === end) return new Float32Array(this.#incrementOf(this.#root).length);
    const intervals: Interval[] = [];
    this.#last.locate(round6(start), round6(end), intervals);
    this.#last = intervals[intervals.length - 1] ?? this.#root;
    let sum: Float32Array | undefined;
    for (const interval of intervals) {
      const w = this.#incrementOf(interval);
      sum = sum ? sum.map((v, i) => f32(v + (w[i] ?? 0))) : w.slice();
    }
    return sum ?? new Float32Array();
  }

  /** A node's increment from its parent's: the Brownian bridge at the parent's midpoint with the parent's noise. */
  #incrementOf(node: Interval): Float32Array {
    const known = this.#increments.get(node);
    if (known) return known;
    const parent = node.parent;
    if (!parent || parent.midway === undefined) throw new RangeError('a Brownian tree node without a split parent');
    const w = this.#incrementOf(parent);
    const reciprocal = 1 / (parent.end - parent.start);
    const leftDiff = parent.midway - parent.start;
    const rightDiff = parent.end - parent.midway;
    const sd = f32(Math.sqrt(leftDiff * rightDiff * reciprocal));
    const noise = this.#draw(parent.wSeed);
    const leftW = w.map((v, i) => f32(f32(f32(f32(leftDiff) * v) * f32(reciprocal)) + f32(sd * (noise[i] ?? 0))));
    const out = node.isLeft ? leftW : w.map((v, i) => f32(v - (leftW[i] ?? 0)));
    this.#increments.set(node, out);
    return out;
  }
}

/**
 * k-diffusion's `BrownianTreeNoiseSampler(x, σ_min, σ_max, seed=[picture seeds])`: for a step from σ to σ_next,
 * each picture's `(W(σ_next) − W(σ)) / √|σ_next − σ|`, stacked.
 */
export class BrownianNoise {
  readonly #trees: BrownianTree[];

  constructor(sigmaMin: number, sigmaMax: number, seeds: readonly bigint[], draw: SeededDraw) {
    this.#trees = seeds.map((seed) => new BrownianTree(sigmaMin, sigmaMax, seed, draw));
  }

  between(sigma: number, next: number): Float32Array {
    // BatchedBrownianTree sorts the query and flips the sign back.
    const [low, high, sign] = sigma < next ? [sigma, next, 1] : [next, sigma, -1];
    const scale = f32(Math.sqrt(f32(Math.abs(f32(next - sigma)))));
    const parts = this.#trees.map((tree) => tree.increment(low, high));
    const out = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part.map((v) => f32(f32(v * sign) / scale)), offset);
      offset += part.length;
    }
    return out;
  }
}
