import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { GatewayCloseCodes, GatewayDispatchEvents, GatewayOpcodes } from 'discord.js';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { apiGuildCreate } from './api-objects.js';
import type { Backend } from './backend.js';
import { GatewaySession } from './gateway-session.js';
import { PRIVILEGED_INTENTS, shapeForIntents } from './intents.js';
import { isJsonObject } from './json.js';

/** Gateway settings. */
export interface GatewayOptions {
  /** Sent in HELLO. */
  readonly heartbeatIntervalMs: number;
  /** The privileged intents the application may use; asking for others closes the connection with 4014. */
  readonly privilegedIntents: number;
}

/** How often the gateway did what, for tests of reconnection. */
export interface GatewayStats {
  readonly connections: number;
  readonly identifies: number;
  readonly resumes: number;
  /** Heartbeats received (each answered with a HEARTBEAT_ACK). */
  readonly heartbeats: number;
  /** Sessions with an open connection right now. */
  readonly connected: number;
}

/** A presence the bot set (op 3 PRESENCE_UPDATE), as sent. */
export interface GatewayPresence {
  readonly status: string;
  readonly activities: readonly Record<string, unknown>[];
}

/** Frames a client sends after HELLO. */
interface ClientPayload {
  readonly op: GatewayOpcodes;
  readonly d: Record<string, unknown>;
}

/**
 * The fake gateway at `ws://127.0.0.1:P/gateway`: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeat ACKs, RESUME
 * with replay, intent filtering, sequence numbers. Frames are uncompressed JSON text; @discordjs/ws parses text
 * frames as JSON even when it asked for zlib-stream (with zlib-sync installed), so no compression is needed.
 */
export class Gateway {
  readonly #backend: Backend;
  readonly #options: GatewayOptions;
  readonly #server: WebSocketServer;
  readonly #sessions = new Map<string, GatewaySession>();
  #stats = { connections: 0, identifies: 0, resumes: 0, heartbeats: 0 };
  readonly #presences: GatewayPresence[] = [];

  constructor(httpServer: Server, backend: Backend, options: GatewayOptions) {
    this.#backend = backend;
    this.#options = options;
    this.#server = new WebSocketServer({ server: httpServer, path: '/gateway' });
    this.#server.on('connection', (socket) => this.#accept(socket));
  }

  get stats(): GatewayStats {
    const connected = [...this.#sessions.values()].filter((s) => s.socket !== undefined).length;
    return { ...this.#stats, connected };
  }

  /** Every presence the bot set, oldest first. */
  get presences(): readonly GatewayPresence[] {
    return this.#presences;
  }

  /** Dispatches `event` to every session whose intents allow it (the `Publish` of the world and the message store). */
  readonly publish = (event: GatewayDispatchEvents, data: object): void => {
    for (const session of this.#sessions.values()) this.#deliver(session, event, data);
  };

  /**
   * Closes every open connection with 4000, as a network failure would. discord.js then reconnects and RESUMEs; with
   * `resumable: false` the sessions are forgotten first, so the RESUME gets op 9 and the client identifies anew.
   */
  async drop(options: { readonly resumable?: boolean } = {}): Promise<void> {
    const sockets = [...this.#sessions.values()].flatMap((session) => {
      if (options.resumable === false) this.#sessions.delete(session.id);
      return session.socket ? [session.socket] : [];
    });
    await Promise.all(
      sockets.map((socket) => {
        const closed = once(socket, 'close');
        socket.close(GatewayCloseCodes.UnknownError, 'Dropped by the fake Discord');
        return closed;
      }),
    );
  }

  /** Terminates every connection and stops accepting new ones. */
  async close(): Promise<void> {
    for (const socket of this.#server.clients) socket.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #deliver(session: GatewaySession, event: GatewayDispatchEvents, data: object): void {
    const shaped = shapeForIntents(event, data, session.intents, this.#backend.world.bot.id);
    if (shaped) session.dispatch(event, shaped);
    this.#backend.changes.notify();
  }

  #accept(socket: WebSocket): void {
    this.#stats.connections += 1;
    let session: GatewaySession | undefined;
    const send = (payload: object): void => socket.send(JSON.stringify(payload));
    send({ op: GatewayOpcodes.Hello, d: { heartbeat_interval: this.#options.heartbeatIntervalMs } });

    socket.on('message', (raw: RawData, isBinary: boolean) => {
      const payload = isBinary ? undefined : parsePayload(raw);
      if (!payload) return this.#refuse(socket, GatewayCloseCodes.DecodeError, 'Undecodable payload');
      switch (payload.op) {
        case GatewayOpcodes.Heartbeat:
          this.#stats.heartbeats += 1;
          return send({ op: GatewayOpcodes.HeartbeatAck });
        case GatewayOpcodes.Identify:
          if (session) return this.#refuse(socket, GatewayCloseCodes.AlreadyAuthenticated, 'Identified twice');
          session = this.#identify(socket, payload.d);
          return;
        case GatewayOpcodes.Resume:
          session = this.#resume(socket, payload.d);
          return;
        case GatewayOpcodes.PresenceUpdate: {
          const activities = Array.isArray(payload.d['activities']) ? (payload.d['activities'] as Record<string, unknown>[]) : [];
          this.#presences.push({ status: String(payload.d['status']), activities });
          this.#backend.changes.notify();
          return;
        }
        case GatewayOpcodes.VoiceStateUpdate:
          return;
        default:
          // Request Guild Members and friends: real, but not served by the fake. The bot waits in vain, so say so.
          this.#backend.violations.record({
            rule: 'gateway',
            message: `Gateway op ${payload.op} is not supported by the fake`,
            source: 'gateway',
          });
      }
    });
    socket.on('close', (code: number) => {
      if (!session) return;
      session.detach(socket);
      // A client that closes normally ends its session; other closes leave it resumable, as on Discord.
      if (code === 1000 || code === 1001) this.#sessions.delete(session.id);
    });
  }

  #identify(socket: WebSocket, d: Record<string, unknown>): GatewaySession | undefined {
    const intents = typeof d['intents'] === 'number' ? d['intents'] : 0;
    if (d['token'] !== this.#backend.token) return this.#refuse(socket, GatewayCloseCodes.AuthenticationFailed, 'Authentication failed');
    if ((intents & PRIVILEGED_INTENTS & ~this.#options.privilegedIntents) !== 0) {
      return this.#refuse(socket, GatewayCloseCodes.DisallowedIntents, 'Disallowed intent(s)');
    }
    this.#stats.identifies += 1;
    const session = new GatewaySession(randomBytes(16).toString('hex'), intents);
    this.#sessions.set(session.id, session);
    session.attach(socket);
    const { world } = this.#backend;
    session.dispatch(GatewayDispatchEvents.Ready, {
      v: 10,
      user: world.bot,
      guilds: world.guilds.map((guild) => ({ id: guild.id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.#backend.gatewayUrl,
      shard: [0, 1],
      application: { id: world.application.id, flags: world.application.flags },
    });
    for (const guild of world.guilds) this.#deliver(session, GatewayDispatchEvents.GuildCreate, apiGuildCreate(guild));
    return session;
  }

  #resume(socket: WebSocket, d: Record<string, unknown>): GatewaySession | undefined {
    const session = this.#sessions.get(String(d['session_id']));
    if (!session || d['token'] !== this.#backend.token) {
      socket.send(JSON.stringify({ op: GatewayOpcodes.InvalidSession, d: false }));
      return undefined;
    }
    this.#stats.resumes += 1;
    session.attach(socket);
    session.replayAfter(typeof d['seq'] === 'number' ? d['seq'] : 0);
    session.dispatch(GatewayDispatchEvents.Resumed, {});
    this.#backend.changes.notify();
    return session;
  }

  #refuse(socket: WebSocket, code: GatewayCloseCodes, reason: string): undefined {
    this.#backend.violations.record({ rule: 'gateway', message: `Closed the gateway with ${code}: ${reason}`, source: 'gateway' });
    socket.close(code, reason);
    return undefined;
  }
}

function parsePayload(raw: RawData): ClientPayload | undefined {
  try {
    const bytes = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    const text = bytes.toString('utf8');
    const payload: unknown = JSON.parse(text);
    if (!isJsonObject(payload) || typeof payload['op'] !== 'number') return undefined;
    return { op: payload['op'] as GatewayOpcodes, d: isJsonObject(payload['d']) ? payload['d'] : {} };
  } catch {
    return undefined;
  }
}
