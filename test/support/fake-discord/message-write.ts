import type { APIEmbed, APIMessageTopLevelComponent } from 'discord.js';
import { z } from 'zod';
import { DiscordErrors, type FieldProblem } from './discord-error.js';
import { parseFormBody } from './form-body.js';
import { isJsonObject } from './json.js';
import { componentProblems, contentProblems, embedProblems, fileCountProblems } from './limits.js';
import type { UploadedFile } from './uploads.js';

/** An entry of `attachments`: an existing attachment to keep, or (`id` = the `files[n]` key) a new upload. */
export interface AttachmentRef {
  readonly id: string;
  readonly filename?: string | null | undefined;
  readonly description?: string | null | undefined;
}

/**
 * What the bot asks a message to become: fields left out stay as they are on an edit, `null` clears them.
 * Parsed from the JSON of a create or edit request, or of an interaction response's `data`.
 */
export interface MessageWrite {
  readonly content?: string | null | undefined;
  readonly embeds?: readonly APIEmbed[] | null | undefined;
  readonly components?: readonly APIMessageTopLevelComponent[] | null | undefined;
  readonly attachments?: readonly AttachmentRef[] | null | undefined;
  readonly flags?: number | null | undefined;
  readonly files: readonly UploadedFile[];
}

// Embeds and components are checked field by field in limits.ts; here only that they are objects.
const messageSchema = z.looseObject({
  content: z.string().nullish(),
  embeds: z.array(z.custom<APIEmbed>(isJsonObject, 'Expected an embed object')).nullish(),
  components: z.array(z.custom<APIMessageTopLevelComponent>(isJsonObject, 'Expected a component object')).nullish(),
  attachments: z
    .array(
      z.looseObject({
        id: z.union([z.string(), z.number()]).transform(String),
        filename: z.string().nullish(),
        description: z.string().nullish(),
      }),
    )
    .nullish(),
  flags: z.number().int().nullish(),
});

/**
 * Reads a message write and enforces Discord's limits on it: files over `sizeLimit` bytes → 413 (40005), more than
 * 10 files, over-long content, too many or too large embeds, bad components → 400 (50035). `at` prefixes the field
 * paths of the problems (`data.` inside an interaction response).
 */
export function parseMessageWrite(json: unknown, files: readonly UploadedFile[], sizeLimit: number, at = ''): MessageWrite {
  if (files.some((file) => file.bytes.length > sizeLimit)) throw DiscordErrors.entityTooLarge(sizeLimit);
  const write = { ...parseFormBody(messageSchema, json ?? {}, at), files };
  const problems: FieldProblem[] = [
    ...contentProblems(write.content),
    ...embedProblems(write.embeds ?? []),
    ...componentProblems(write.components ?? [], write.flags ?? 0),
    ...fileCountProblems(Math.max(files.length, write.attachments?.length ?? 0)),
  ];
  if (problems.length > 0) {
    throw DiscordErrors.invalidFormBody(problems.map((problem) => ({ ...problem, path: at + problem.path })));
  }
  return write;
}
