import { isJsonObject } from './json.js';
import type { ViolationRule } from './violations.js';

/** One problem with a field of a request body, at a dotted path such as `embeds.0.title`. */
export interface FieldProblem {
  readonly path: string;
  readonly code: string;
  readonly message: string;
}

/**
 * An error answer the way Discord writes it (`{ message, code }` with an HTTP status), which discord.js turns into
 * `DiscordAPIError[code]`. Those that blame the bot carry the rule it broke, so the fake records a violation.
 */
export class DiscordError extends Error {
  readonly status: number;
  readonly code: number;
  readonly rule: ViolationRule | undefined;
  readonly problems: readonly FieldProblem[];

  constructor(status: number, code: number, message: string, rule?: ViolationRule, problems: readonly FieldProblem[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.rule = rule;
    this.problems = problems;
  }

  /** The JSON body Discord sends: form-body problems nest under `errors` as `{ field: { _errors: [...] } }`. */
  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = { message: this.message, code: this.code };
    if (this.problems.length > 0) body['errors'] = nestProblems(this.problems);
    return body;
  }

  /** The message plus the problems, one a line: what a violation records. */
  describe(): string {
    return [this.message, ...this.problems.map((p) => `${p.path}[${p.code}]: ${p.message}`)].join('\n');
  }
}

function nestProblems(problems: readonly FieldProblem[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const problem of problems) {
    let node = root;
    for (const key of problem.path.split('.')) {
      const child = node[key];
      node = isJsonObject(child) ? child : (node[key] = {});
    }
    const errors = Array.isArray(node['_errors']) ? (node['_errors'] as unknown[]) : (node['_errors'] = []);
    errors.push({ code: problem.code, message: problem.message });
  }
  return root;
}

/** The errors Discord answers, by name. */
export const DiscordErrors = {
  unauthorized: () => new DiscordError(401, 0, '401: Unauthorized', 'unauthorized'),
  notFound: () => new DiscordError(404, 0, '404: Not Found', 'unknown-route'),
  unknownApplication: () => new DiscordError(404, 10002, 'Unknown Application', 'unknown-route'),
  unknownChannel: () => new DiscordError(404, 10003, 'Unknown Channel'),
  unknownGuild: () => new DiscordError(404, 10004, 'Unknown Guild'),
  unknownMember: () => new DiscordError(404, 10007, 'Unknown Member'),
  // Not a violation: a member may delete the bot's message at any time, and the bot must cope.
  unknownMessage: () => new DiscordError(404, 10008, 'Unknown Message'),
  unknownWebhook: () => new DiscordError(404, 10015, 'Unknown Webhook', 'unknown-webhook'),
  unknownInteraction: (rule: ViolationRule) => new DiscordError(404, 10062, 'Unknown interaction', rule),
  alreadyAcknowledged: () =>
    new DiscordError(400, 40060, 'Interaction has already been acknowledged.', 'double-ack'),
  invalidWebhookToken: () => new DiscordError(401, 50027, 'Invalid Webhook Token', 'token-expired'),
  missingAccess: () => new DiscordError(403, 50001, 'Missing Access', 'missing-access'),
  missingPermissions: () => new DiscordError(403, 50013, 'Missing Permissions', 'missing-permissions'),
  notAuthor: () =>
    new DiscordError(403, 50005, 'Cannot edit a message authored by another user', 'missing-permissions'),
  entityTooLarge: (limit: number) =>
    new DiscordError(413, 40005, `Request entity too large (limit ${limit} bytes per file)`, 'file-too-large'),
  invalidFormBody: (problems: readonly FieldProblem[]) =>
    new DiscordError(400, 50035, 'Invalid Form Body', 'invalid-form-body', problems),
};
