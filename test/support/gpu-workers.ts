import type { BotProcess } from './bot-process.js';
import type { FakeMessage } from './fake-discord/index.js';

/** The job id in a result's footer. */
export const jobIdOf = (message: FakeMessage): string => /^Job (\S+)$/.exec(message.embeds[0]?.footer?.text ?? '')?.[1] ?? '';

/** Ids of the jobs a GPU worker logged `msg` for (`job started`, `job done`, `job failed`). */
export const jobsLogged = (worker: BotProcess, msg: string): string[] =>
  worker.logs.filter((line) => line['msg'] === msg).map((line) => line['jobId'] as string);

/** Resolves once `condition` holds, checking every 50 ms; rejects after `timeoutMs`, naming `what`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
