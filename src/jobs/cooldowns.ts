import type { Refusal } from '../refusal.js';

/**
 * The time each member last started a job, per server, so a server's `cooldownSeconds` applies to commands,
 * buttons and reactions alike. Kept in memory: a restart forgives everyone, which is harmless.
 */
export class Cooldowns {
  readonly #last = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Claims a turn for `userId` in `guildId`: refuses while the member's cooldown runs, otherwise records now.
   * A zero cooldown always passes.
   */
  claim(guildId: string | null, userId: string, cooldownSeconds: number): ({ ok: true }) | ({ ok: false } & Refusal) {
    if (cooldownSeconds <= 0) return { ok: true };
    const key = `${guildId ?? 'dm'}:${userId}`;
    const now = this.#now();
    const waitMs = (this.#last.get(key) ?? -Infinity) + cooldownSeconds * 1000 - now;
    if (waitMs > 0) {
      const message = `Please wait ${Math.ceil(waitMs / 1000)} s before your next request (this server's cooldown is ${cooldownSeconds} s).`;
      return { ok: false, code: 'COOLDOWN', message };
    }
    this.#last.set(key, now);
    return { ok: true };
  }

  /** Gives a claimed turn back when the request was refused after all (so a typo does not cost a cooldown). */
  release(guildId: string | null, userId: string): void {
    this.#last.delete(`${guildId ?? 'dm'}:${userId}`);
  }
}
