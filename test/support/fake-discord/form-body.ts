import type { z } from 'zod';
import { DiscordErrors } from './discord-error.js';

/** Parses a request body with `schema`; a mismatch is answered like Discord: 400 50035 with the bad fields. */
export function parseFormBody<T>(schema: z.ZodType<T>, json: unknown, at = ''): T {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  throw DiscordErrors.invalidFormBody(
    parsed.error.issues.map((issue) => ({ path: at + issue.path.join('.'), code: 'BASE_TYPE_INVALID', message: issue.message })),
  );
}
