/** Where a key stands in a {@link Turns} rotation. Smaller `turn` goes first; on a tie, the earlier `joined`. */
export interface Standing {
  /** The round of this key's next turn. */
  turn: number;
  /** Join order, to break ties between keys of the same round. */
  readonly joined: number;
}

/** Orders two standings: negative when `a` goes first. */
function compareStandings(a: Standing, b: Standing): number {
  return a.turn - b.turn || a.joined - b.joined;
}

/**
 * Round-robin among keys (members of a guild, or guilds) with turn numbers. Each key with waiting work has a turn
 * number; the smallest goes next and then moves to the next round. A key that joins starts at the round being
 * served, so it goes before every key that has already had its turn in that round, and it cannot save up turns
 * while it had nothing waiting.
 */
export class Turns {
  /** The round being served: the turn number of the key served last. Never decreases. */
  #round = 0;
  #joins = 0;
  readonly #waiting = new Map<string, Standing>();
  /**
   * Keys that left after having their turn in the current round, with their next round, so that leaving and
   * joining again does not buy a second turn in the same round. Entries behind the round are dropped.
   */
  readonly #served = new Map<string, number>();

  /** An independent copy in the same state, for predicting turns without taking them. */
  copy(): Turns {
    const copy = new Turns();
    copy.#round = this.#round;
    copy.#joins = this.#joins;
    for (const [key, standing] of this.#waiting) copy.#waiting.set(key, { ...standing });
    for (const [key, turn] of this.#served) copy.#served.set(key, turn);
    return copy;
  }

  /** Keys with waiting work. */
  get size(): number {
    return this.#waiting.size;
  }

  /** The standing of a waiting key, or `undefined`. */
  standing(key: string): Standing | undefined {
    return this.#waiting.get(key);
  }

  /** Adds `key`, which now has waiting work. Throws if it is already waiting (a bug). */
  join(key: string): void {
    if (this.#waiting.has(key)) throw new Error(`Turns: "${key}" joined twice.`);
    const turn = Math.max(this.#served.get(key) ?? 0, this.#round);
    this.#served.delete(key);
    this.#waiting.set(key, { turn, joined: this.#joins++ });
  }

  /** The waiting key whose turn it is, or `undefined` when none waits. */
  next(): string | undefined {
    let best: [string, Standing] | undefined;
    for (const candidate of this.#waiting) {
      if (!best || compareStandings(candidate[1], best[1]) < 0) best = candidate;
    }
    return best?.[0];
  }

  /** Records that `key` had its turn: it moves to the next round. */
  served(key: string): void {
    const standing = this.#require(key);
    if (standing.turn > this.#round) {
      this.#round = standing.turn;
      for (const [servedKey, turn] of this.#served) if (turn <= this.#round) this.#served.delete(servedKey);
    }
    standing.turn += 1;
  }

  /** Removes `key`, which has nothing waiting any more. */
  leave(key: string): void {
    const standing = this.#require(key);
    this.#waiting.delete(key);
    if (standing.turn > this.#round) this.#served.set(key, standing.turn);
  }

  #require(key: string): Standing {
    const standing = this.#waiting.get(key);
    if (!standing) throw new Error(`Turns: "${key}" is not waiting.`);
    return standing;
  }
}

/** A key's waiting items, first to go first, with the key's standing. */
export interface Lane<T> {
  readonly standing: Standing;
  readonly items: readonly T[];
}

/**
 * The order in which a {@link Turns} rotation serves the items of `lanes`, if nothing joins meanwhile: the k-th
 * item of a lane (k from 0) goes in round `turn + k`, and the items of one round go in join order. Linear in the
 * number of items (plus rounds × lanes), which matters because positions are recomputed on every change.
 */
export function interleave<T>(lanes: ReadonlyArray<Lane<T>>): T[] {
  const order: T[] = [];
  let live = [...lanes].sort((a, b) => a.standing.joined - b.standing.joined);
  for (let round = Math.min(...live.map((lane) => lane.standing.turn)); live.length > 0; round++) {
    live = live.filter((lane) => {
      const item = lane.items[round - lane.standing.turn];
      if (item !== undefined) order.push(item);
      return round - lane.standing.turn < lane.items.length - 1;
    });
  }
  return order;
}
