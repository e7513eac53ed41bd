import type { GatewayDispatchEvents } from 'discord.js';

/** Hands one gateway event to every connected session that may see it (the gateway filters by intents). */
export type Publish = (event: GatewayDispatchEvents, data: object) => void;

/**
 * Forwards events to a `Publish` connected later: the world and the message store are made before the gateway
 * that sends their events (which needs them for READY). Events before that have nobody to go to anyway.
 */
export class PublishRelay {
  #target: Publish | undefined;

  /** The `Publish` to hand out now. */
  readonly publish: Publish = (event, data) => this.#target?.(event, data);

  /** Sends every later event to `target`. */
  connect(target: Publish): void {
    this.#target = target;
  }
}
