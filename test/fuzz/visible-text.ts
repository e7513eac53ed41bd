// What a member may never see in a message from the bot.
import type { MessageVersion } from '../support/fake-discord/index.js';

// Controls other than newline and tab, lone surrogate halves, line and paragraph separators.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029]|\p{Cs}/u;

/** Words that are a bug when the bot writes them, unless the member typed them first (a prompt may say "NaN"). */
const LEAKS: readonly RegExp[] = [/\bundefined\b/, /\bNaN\b/, /\[object \w+\]/, /\b[A-Z]\w*Error\b/, /DiscordAPIError/];
/** A stack frame: "    at fn (file:1:2)" or "at file:///…:1:2". */
const STACK_FRAME = /\n\s*at .+:\d+:\d+\)?/;

export function isPrintable(text: string): boolean {
  return !UNPRINTABLE.test(text);
}

/** Everything of one version of a message that a member reads: content and embed texts. */
export function visibleText(message: Pick<MessageVersion, 'content' | 'embeds'>): string {
  const embeds = message.embeds.flatMap((embed) => [
    embed.title,
    embed.description,
    embed.footer?.text,
    embed.author?.name,
    ...(embed.fields ?? []).flatMap((field) => [field.name, field.value]),
  ]);
  return [message.content, ...embeds].filter((text): text is string => typeof text === 'string').join('\n');
}

/**
 * What is wrong with `text` as something the bot shows a member, or undefined when nothing is. `typed` is what
 * members sent: a leak word they typed themselves may be echoed back (escaped or not).
 */
export function visibleProblem(text: string, typed: (word: string) => boolean): string | undefined {
  const unprintable = UNPRINTABLE.exec(text);
  if (unprintable) {
    const code = `U+${(unprintable[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
    return `an unprintable character ${code} in ${JSON.stringify(text.slice(Math.max(0, unprintable.index - 100), unprintable.index + 20))}`;
  }
  if (STACK_FRAME.test(text)) return `a stack frame in ${JSON.stringify(text.slice(0, 200))}`;
  for (const pattern of LEAKS) {
    const found = pattern.exec(text)?.[0];
    if (found && !typed(found)) return `"${found}" in ${JSON.stringify(text.slice(0, 200))}`;
  }
  return undefined;
}
