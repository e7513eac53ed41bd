import type { GatewayDispatchEvents } from 'discord.js';
import type { WebSocket } from 'ws';

/**
 * One gateway session: its intents, its sequence numbers, and every dispatch it was sent, so that a RESUME after a
 * dropped connection replays what the client missed. Dispatches made while disconnected are kept for that replay.
 */
export class GatewaySession {
  readonly id: string;
  readonly intents: number;
  #sequence = 0;
  readonly #sent: { readonly sequence: number; readonly text: string }[] = [];
  #socket: WebSocket | undefined;

  constructor(id: string, intents: number) {
    this.id = id;
    this.intents = intents;
  }

  /** The socket the session currently speaks on, if connected. */
  get socket(): WebSocket | undefined {
    return this.#socket;
  }

  /** Makes `socket` the session's connection (on IDENTIFY or RESUME). */
  attach(socket: WebSocket): void {
    this.#socket = socket;
  }

  /** Forgets `socket` if it is the session's current one (a stale socket's close must not detach a resumed session). */
  detach(socket: WebSocket): void {
    if (this.#socket === socket) this.#socket = undefined;
  }

  /** Sends (or, while disconnected, keeps for a resume) one dispatch with the next sequence number. */
  dispatch(event: GatewayDispatchEvents, data: object): void {
    this.#sequence += 1;
    const text = JSON.stringify({ op: 0, t: event, s: this.#sequence, d: data });
    this.#sent.push({ sequence: this.#sequence, text });
    this.#socket?.send(text);
  }

  /** Sends again every dispatch after `sequence`, the last one the client saw. */
  replayAfter(sequence: number): void {
    for (const entry of this.#sent) if (entry.sequence > sequence) this.#socket?.send(entry.text);
  }
}
