// What became of the jobs a test started, read from the fake's messages and the bot's log: shared by the soak and
// the interaction fuzz, which both check that every accepted job is answered exactly once.
import type { FakeDiscord, FakeMessage, InteractionHandle } from './fake-discord/index.js';

/** The job an answer is about: result embeds carry it in their footer, failures in their text. */
export function jobOfAnswer(message: FakeMessage): string | undefined {
  const footer = message.embeds[0]?.footer?.text ?? '';
  const fromFooter = /^Job ([0-9a-f-]{36})$/.exec(footer)?.[1];
  if (fromFooter && message.attachments.length > 0) return fromFooter;
  return /job failed[\s\S]*Job `([0-9a-f-]{36})`/.exec(message.content)?.[1];
}

/** Refused by the fake as acknowledged too late: the bot logs it and lets it go, by design. */
export function tooLate(fake: FakeDiscord, handle: InteractionHandle): boolean {
  return fake.violations.some((violation) => violation.rule === 'ack-deadline' && violation.source.includes(handle.id));
}

/** Every job with an answer in the channel, and the messages that answer it. */
export function answersIn(fake: FakeDiscord): Map<string, Set<string>> {
  const answers = new Map<string, Set<string>>();
  for (const message of fake.messagesIn()) {
    const jobId = jobOfAnswer(message);
    if (jobId) answers.set(jobId, (answers.get(jobId) ?? new Set()).add(message.id));
  }
  return answers;
}

/**
 * The bots' log lines by message, read incrementally: the waits re-check often, and rescanning thousands of debug
 * lines each time would slow the bot the soak is measuring.
 */
export class LogTally {
  readonly #sources: () => readonly (readonly Record<string, unknown>[])[];
  readonly #read: number[] = [];
  readonly #byMessage = new Map<string, Record<string, unknown>[]>();
  readonly #interactions = new Set<string>();

  constructor(sources: () => readonly (readonly Record<string, unknown>[])[]) {
    this.#sources = sources;
  }

  /** The lines with message `msg`, oldest first. */
  said(msg: string): readonly Record<string, unknown>[] {
    this.#catchUp();
    return this.#byMessage.get(msg) ?? [];
  }

  /** The interactions that got a job accepted. */
  get acceptedInteractions(): ReadonlySet<string> {
    this.#catchUp();
    return this.#interactions;
  }

  #catchUp(): void {
    for (const [i, lines] of this.#sources().entries()) {
      for (let at = this.#read[i] ?? 0; at < lines.length; at += 1) {
        const line = lines[at] ?? {};
        const msg = String(line['msg']);
        const same = this.#byMessage.get(msg) ?? [];
        same.push(line);
        this.#byMessage.set(msg, same);
        const interaction = line['interactionId'];
        if (msg === 'job accepted' && typeof interaction === 'string') this.#interactions.add(interaction);
      }
      this.#read[i] = lines.length;
    }
  }
}

export function count(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
