import type { RequestBody } from './uploads.js';

/** What a route handler gets: the decoded path parameters, the query and the parsed body. */
export interface RouteRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: RequestBody;
}

/** A route's answer: a status with a JSON body, or with none (204). */
export interface RouteReply {
  readonly status: number;
  readonly json?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Handles one route; throws `DiscordError` to answer with an error. */
export type RouteHandler = (request: RouteRequest) => RouteReply | Promise<RouteReply>;

/** A registered route. `name` (`PATCH /channels/:channel/messages/:message`) is what the request log records. */
export interface Route {
  readonly name: string;
  /** Whether the route needs `Authorization: Bot <token>` (interaction callbacks and webhooks use the token in the path). */
  readonly auth: boolean;
  readonly handler: RouteHandler;
}

/** A route with the parameters bound from one path. */
export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

interface Entry extends Route {
  readonly method: string;
  readonly segments: readonly string[];
}

/** A 200 answer with `json`. */
export function ok(json: unknown): RouteReply {
  return { status: 200, json };
}

/** A 204 answer. */
export const NO_CONTENT: RouteReply = { status: 204 };

/** Matches decoded path segments against patterns whose `:name` segments are parameters. */
export class Router {
  readonly #entries: Entry[] = [];

  /** Registers `handler` for `method` and `pattern` (relative to `/api/v10`). */
  add(method: string, pattern: string, handler: RouteHandler, options: { readonly auth?: boolean } = {}): void {
    this.#entries.push({
      method,
      segments: pattern.split('/').slice(1),
      name: `${method} ${pattern}`,
      auth: options.auth ?? true,
      handler,
    });
  }

  /** The route for `method` and `segments`, with its parameters; literal segments win over parameters. */
  match(method: string, segments: readonly string[]): RouteMatch | undefined {
    const candidates = this.#entries
      .filter((entry) => entry.method === method && entry.segments.length === segments.length)
      .map((entry) => ({ entry, params: bind(entry.segments, segments) }))
      .filter((candidate): candidate is { entry: Entry; params: Record<string, string> } => candidate.params !== undefined)
      .sort((a, b) => Object.keys(a.params).length - Object.keys(b.params).length);
    const best = candidates[0];
    return best && { route: best.entry, params: best.params };
  }
}

function bind(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [i, part] of pattern.entries()) {
    const segment = segments[i] ?? '';
    if (part.startsWith(':')) params[part.slice(1)] = segment;
    else if (part !== segment) return undefined;
  }
  return params;
}
