import type { InteractionHandle } from './interaction-handle.js';

/** Every interaction the fake dispatched, by id and by token (webhook routes only know the token). */
export class InteractionRegistry {
  readonly #byId = new Map<string, InteractionHandle>();
  readonly #byToken = new Map<string, InteractionHandle>();

  /** Registers a just-dispatched interaction. */
  add(handle: InteractionHandle): void {
    this.#byId.set(handle.id, handle);
    this.#byToken.set(handle.token, handle);
  }

  /** The interaction with `id` (what the callback route knows). */
  byId(id: string): InteractionHandle | undefined {
    return this.#byId.get(id);
  }

  /** The interaction with `token` (what the webhook routes know). */
  byToken(token: string): InteractionHandle | undefined {
    return this.#byToken.get(token);
  }

  /** All of them, in dispatch order. */
  get all(): readonly InteractionHandle[] {
    return [...this.#byId.values()];
  }
}
