import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Backend } from './backend.js';
import { DiscordError, DiscordErrors } from './discord-error.js';
import { Fault, type FaultSpec } from './faults.js';
import { Hold, type HoldSpec } from './holds.js';
import type { RouteMatch, RouteReply, Router } from './router.js';
import { readBody, type RequestBody } from './uploads.js';

/** One HTTP request the fake received. */
export interface RecordedRequest {
  readonly method: string;
  /** The decoded path, e.g. `/api/v10/webhooks/1/abc/messages/@original` or `/cdn/attachments/…`. */
  readonly path: string;
  /** The route that handled it, e.g. `PATCH /webhooks/:application/:token/messages/:message`; unset for CDN and unknown paths. */
  readonly route: string | undefined;
  /** Fake-clock arrival time, in epoch milliseconds. */
  readonly at: number;
  /** The answer's status (0 while it is being handled). */
  readonly status: number;
  /** Whether an injected fault answered it. */
  readonly fault: boolean;
  /** The request's JSON (the body, or a multipart request's `payload_json`), once read. */
  readonly json: unknown;
}

type MutableRequest = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

/** A reply with raw bytes (the CDN) rather than JSON. */
interface BytesReply {
  readonly status: number;
  readonly bytes: Buffer;
  readonly contentType: string;
}

const API_PREFIX = ['api', 'v10'];

/**
 * The HTTP side of the fake: records every request, applies injected faults, serves the CDN, checks the bot
 * token, routes API calls, holds answers it is asked to, and answers errors (and records violations) the way
 * Discord does.
 */
export class HttpFrontend {
  readonly requests: RecordedRequest[] = [];
  readonly #backend: Backend;
  readonly #router: Router;
  readonly #faults: Fault[] = [];
  readonly #holds: Hold[] = [];

  constructor(backend: Backend, router: Router) {
    this.#backend = backend;
    this.#router = router;
  }

  /** Makes matching requests fail (see `FaultSpec`). */
  injectFault(spec: FaultSpec): Fault {
    const fault = new Fault(spec);
    this.#faults.push(fault);
    return fault;
  }

  /** Carries out matching requests but keeps their answers back until released (see `HoldSpec`). */
  holdAnswers(spec: HoldSpec): Hold {
    const hold = new Hold(spec);
    this.#holds.push(hold);
    return hold;
  }

  /** The `request` listener of the HTTP server. */
  readonly listener = (request: IncomingMessage, response: ServerResponse): void => {
    void this.#handle(request, response);
  };

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://fake.invalid');
    const segments = url.pathname.split('/').slice(1).map(decodeSegment);
    const path = `/${segments.join('/')}`;
    const record: MutableRequest = { method, path, route: undefined, at: this.#backend.clock.now(), status: 0, fault: false, json: undefined };
    this.requests.push(record);
    let reply: RouteReply | BytesReply;
    try {
      const body = await readBody(request);
      record.json = body.json;
      const match = this.#match(method, segments);
      record.route = match?.route.name;
      const fault = this.#faults.find((f) => f.matches(method, path));
      record.fault = fault !== undefined;
      reply = fault ? fault.fire() : await this.#answer(request, url, segments, body, match);
    } catch (error) {
      reply = this.#failure(error, `${method} ${path}`);
    }
    record.status = reply.status;
    const hold = this.#holds.find((h) => h.matches(method, path, record.json));
    if (hold) {
      this.#backend.changes.notify();
      await hold.keep(path);
    }
    send(response, reply);
    this.#backend.changes.notify();
  }

  #match(method: string, segments: readonly string[]): RouteMatch | undefined {
    const isApi = API_PREFIX.every((part, i) => segments[i] === part);
    return isApi ? this.#router.match(method, segments.slice(API_PREFIX.length)) : undefined;
  }

  async #answer(
    request: IncomingMessage,
    url: URL,
    segments: readonly string[],
    body: RequestBody,
    match: RouteMatch | undefined,
  ): Promise<RouteReply | BytesReply> {
    if (segments[0] === 'cdn') {
      const file = this.#backend.cdn.get(url.pathname);
      if (!file) return { status: 404, json: { message: '404: Not Found' } };
      return { status: 200, bytes: file.bytes, contentType: file.contentType };
    }
    if (!match) throw DiscordErrors.notFound();
    if (match.route.auth && request.headers.authorization !== `Bot ${this.#backend.token}`) throw DiscordErrors.unauthorized();
    return match.route.handler({ params: match.params, query: url.searchParams, body });
  }

  /** Turns a thrown error into Discord's answer; a bug in the fake becomes a 500 and a violation, so tests notice. */
  #failure(error: unknown, source: string): RouteReply {
    if (error instanceof SyntaxError) {
      const message = `The request body contains invalid JSON: ${error.message}`;
      this.#backend.violations.record({ rule: 'invalid-form-body', message, source });
      return { status: 400, json: { message: 'The request body contains invalid JSON.', code: 50109 } };
    }
    if (error instanceof DiscordError) {
      if (error.rule) this.#backend.violations.record({ rule: error.rule, message: error.describe(), source });
      return { status: error.status, json: error.toJSON() };
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.#backend.violations.record({ rule: 'fake-error', message, source });
    return { status: 500, json: { message: '500: Internal Server Error (fake Discord bug)', code: 0 } };
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function send(response: ServerResponse, reply: RouteReply | BytesReply): void {
  if ('bytes' in reply) {
    response.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': reply.bytes.length });
    response.end(reply.bytes);
    return;
  }
  if (reply.json === undefined) {
    response.writeHead(reply.status, { ...reply.headers });
    response.end();
    return;
  }
  const text = JSON.stringify(reply.json);
  response.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...reply.headers,
  });
  response.end(text);
}
