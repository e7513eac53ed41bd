// Issue 23's interaction fuzz: seeded sequences of hostile members' actions through the real bot (the real
// discord.js client over real sockets) against the fake Discord, on the tiny model, with invariants checked after
// every action and at the end. fast-check generates the sequences and shrinks a failing one to its shortest form.
import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { InteractionResponseType, PermissionFlagsBits } from 'discord.js';
import { COMMANDS } from '../../src/discord/commands/index.js';
import { DEFAULTS_PATH, readDefaults } from '../../src/config/index.js';
import { BUTTON_ACTIONS } from '../../src/discord/delivery/custom-id.js';
import { jobRecordSchema, type JobRecord } from '../../src/jobs/job-record.js';
import { SettingsStore } from '../../src/settings/settings-store.js';
import { Store, type Collection } from '../../src/store/index.js';
import type { App } from '../../src/app.js';
import { startBot, type BotHarness } from '../support/bot-harness.js';
import { DEFAULT_MEMBER_PERMISSIONS, type FakeAttachment, type FakeMember, type FakeMessage, type InteractionHandle, type RawOption } from '../support/fake-discord/index.js';
import { answersIn, LogTally } from '../support/job-answers.js';
import { animated, INIT_IMAGE, pngHeaderBomb } from '../support/pictures.js';
import { commandPayload, type GeneratedOption, type UploadMarker } from './command-arbitraries.js';
import { hostileText, loraCalls } from './hostile-text.js';
import { oddPictures, type OddPicture, type OddPictureKind } from './odd-pictures.js';
import { visibleProblem, visibleText } from './visible-text.js';

/** What a member does. `member` 0 is a moderator (Manage Server and Manage Messages), the others are not. */
export type Action =
  | CommandAction
  | { readonly kind: 'small-imagine'; readonly member: number; readonly prompt: string }
  | { readonly kind: 'click'; readonly member: number; readonly on: 'result' | 'progress'; readonly pick: number; readonly customId: ClickId; readonly times: number }
  | { readonly kind: 'react'; readonly member: number; readonly on: 'result' | 'other'; readonly pick: number; readonly emoji: string }
  /** Commands sent at once, without waiting for each other's answers (moderators editing `/config` together). */
  | { readonly kind: 'burst'; readonly commands: readonly CommandAction[] }
  /** Many reactions on one message at once, by several members. */
  | { readonly kind: 'storm'; readonly on: 'result' | 'other'; readonly pick: number; readonly reactions: readonly { readonly member: number; readonly emoji: string }[] };

type CommandAction = { readonly kind: 'command'; readonly member: number; readonly name: string; readonly options: readonly GeneratedOption[] };

/** Which id a click carries: the message's own button, another job's id, or something forged. */
type ClickId = { readonly real: number } | { readonly otherJob: (typeof BUTTON_ACTIONS)[number] } | { readonly forged: string };

const MEMBERS = 4;
const EMOJI = ['🎲', '🔁', '✉️', '❤️', '⏳'] as const;

const commandAction: fc.Arbitrary<CommandAction> = fc.tuple(fc.nat(MEMBERS - 1), commandArbitrary()).map(([member, command]) => ({ kind: 'command' as const, member, ...command }));
/** `/config` edits, mostly `set`, as moderators (and members who may not) send them. */
const configAction: fc.Arbitrary<CommandAction> = fc
  .tuple(fc.nat(MEMBERS - 1), commandPayload(configCommand()))
  .map(([member, options]) => ({ kind: 'command' as const, member, name: 'config', options }));

const actionArbitrary: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: commandAction },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('small-imagine' as const), member: fc.nat(MEMBERS - 1), prompt: fc.oneof({ weight: 3, arbitrary: hostileText(4) }, { weight: 1, arbitrary: loraCalls(['tiny-lora']) }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('click' as const),
      member: fc.nat(MEMBERS - 1),
      on: fc.constantFrom('result' as const, 'progress' as const),
      pick: fc.nat(),
      customId: fc.oneof(
        fc.record({ real: fc.nat() }),
        fc.record({ otherJob: fc.constantFrom(...BUTTON_ACTIONS) }),
        fc.record({ forged: fc.oneof(hostileText(3), fc.constantFrom('x'.repeat(100), `dc:delete:${'f'.repeat(36)}`, 'dc:reroll:', 'dc::')) }),
      ),
      times: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('react' as const),
      member: fc.nat(MEMBERS - 1),
      on: fc.constantFrom('result' as const, 'other' as const),
      pick: fc.nat(),
      emoji: fc.constantFrom(...EMOJI),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('burst' as const),
      commands: fc.array(fc.oneof({ weight: 3, arbitrary: configAction }, { weight: 1, arbitrary: commandAction }), { minLength: 2, maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('storm' as const),
      on: fc.constantFrom('result' as const, 'other' as const),
      pick: fc.nat(),
      reactions: fc.array(fc.record({ member: fc.nat(MEMBERS - 1), emoji: fc.constantFrom(...EMOJI) }), { minLength: 3, maxLength: 20 }),
    }),
  },
);

/** `/config`'s registered definition. */
function configCommand() {
  const config = COMMANDS.find((command) => command.data.name === 'config');
  if (!config) throw new Error('no /config command is registered');
  return config.data;
}

/** One of the registered commands, with options generated from its definition. */
function commandArbitrary(): fc.Arbitrary<{ name: string; options: GeneratedOption[] }> {
  return fc.constantFrom(...COMMANDS).chain((command) => commandPayload(command.data).map((options) => ({ name: command.data.name, options })));
}

/** Sequences of actions, as fast-check generates and shrinks them. */
export function actionsArbitrary(maxActions: number): fc.Arbitrary<Action[]> {
  return fc.array(actionArbitrary, { minLength: 1, maxLength: maxActions });
}

export interface FuzzOptions {
  readonly seed: number;
  readonly numRuns: number;
  /** Longest sequence of actions in one run. */
  readonly maxActions: number;
  /** Fail on an acknowledgement later than Discord's 3 s (the long run); otherwise only count them. */
  readonly strictDeadline: boolean;
  /** Called every 50 runs with the counts so far (the long run prints them). */
  readonly onProgress?: (runs: number, counts: Omit<FuzzReport, 'elapsedMs'>) => void;
}

const PROGRESS_EVERY = 50;

export interface FuzzReport {
  readonly actions: number;
  readonly interactions: number;
  readonly checks: number;
  readonly acceptedJobs: number;
  readonly answeredJobs: number;
  readonly maxAckMs: number;
  readonly lateAcks: number;
  readonly elapsedMs: number;
}

/** The server limits of the fuzz: every job a member can get accepted is small enough for the tiny model on a CPU. */
const SMALL_JOBS = { steps: 2, maxSteps: 3, maxPixels: 128 * 128, maxCount: 2, maxQueuedPerMember: 20 } as const;

/**
 * Runs `numRuns` sequences against one bot (a bug that needs state built by earlier runs is found too; a replay
 * from the seed regenerates the same actions, though job timings may differ). Throws fast-check's report, with
 * the seed and the shrunk sequence, on the first broken invariant.
 */
export async function runInteractionFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const bot = await startBot({
    defaults: (d) => ({
      ...d,
      generation: { ...d.generation, steps: SMALL_JOBS.steps },
      limits: { ...d.limits, maxSteps: SMALL_JOBS.maxSteps, maxPixels: SMALL_JOBS.maxPixels, maxCount: SMALL_JOBS.maxCount, maxQueuedPerMember: SMALL_JOBS.maxQueuedPerMember },
      queue: { ...d.queue, maxQueued: 1000 },
    }),
  });
  const world = await FuzzWorld.open(bot);
  let runs = 0;
  try {
    await fc.assert(
      fc.asyncProperty(actionsArbitrary(options.maxActions), async (actions) => {
        await world.resetSettings();
        for (const action of actions) await world.act(action, options.strictDeadline);
        await world.settle();
        runs += 1;
        if (runs % PROGRESS_EVERY === 0) options.onProgress?.(runs, world.counts());
      }),
      { seed: options.seed, numRuns: options.numRuns, includeErrorInReport: true, endOnFailure: false },
    );
    await world.finish();
    return { ...world.counts(), elapsedMs: Date.now() - started };
  } finally {
    await world.close();
    await bot.stop();
  }
}

/**
 * The bot under test: in-process (`startBot`, whose queue a report on a stuck job can inspect) or the real process
 * (`startBotProcess`).
 */
export type FuzzTarget = Pick<BotHarness, 'fake' | 'storeUrl'> & {
  readonly logs: readonly Record<string, unknown>[];
  readonly app?: Pick<App, 'inspectQueue'>;
};

/** How long a run's accepted jobs may take to finish once its actions are done. */
const SETTLE_MS = 120_000;
/** How long after a job's record ends its answer may take to be logged. */
const ANSWER_LOG_MS = 10_000;

/** The bot, its members, and the invariants' bookkeeping. */
export class FuzzWorld {
  readonly #bot: FuzzTarget;
  readonly #members: readonly FakeMember[];
  readonly #settings: SettingsStore;
  readonly #store: Store;
  readonly #jobs: Collection<JobRecord>;
  readonly #finished = new Set<string>();
  readonly #tally: LogTally;
  /** Every string a member sent: a word they typed may come back to them. */
  readonly #typed: string[] = [];
  readonly #uploads = new Map<string, FakeAttachment>();
  readonly #oddPictures: Record<OddPictureKind, OddPicture>;
  /** How many versions of each message were checked already. */
  readonly #versionsChecked = new Map<string, number>();
  #actions = 0;
  #interactions = 0;
  #checks = 0;
  #maxAckMs = 0;
  #lateAcks = 0;

  private constructor(
    bot: FuzzTarget,
    members: readonly FakeMember[],
    store: Store,
    settings: SettingsStore,
    jobs: Collection<JobRecord>,
    odd: Record<OddPictureKind, OddPicture>,
  ) {
    this.#bot = bot;
    this.#oddPictures = odd;
    this.#jobs = jobs;
    this.#members = members;
    this.#store = store;
    this.#settings = settings;
    this.#tally = new LogTally(() => [bot.logs]);
  }

  static async open(bot: FuzzTarget): Promise<FuzzWorld> {
    const moderator = bot.fake.createMember({
      username: 'moderator',
      permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild | PermissionFlagsBits.ManageMessages,
    });
    const members = [moderator, bot.fake.member, ...Array.from({ length: MEMBERS - 2 }, (_, i) => bot.fake.createMember({ username: `member${i}` }))];
    // A second connection to the bot's store: the settings as saved, whatever the bot believes.
    const store = await Store.open(bot.storeUrl);
    const jobs = await store.collection('jobs', { schema: jobRecordSchema, version: 1 });
    return new FuzzWorld(bot, members, store, await SettingsStore.open(store, readDefaults(DEFAULTS_PATH)), jobs, await oddPictures());
  }

  counts(): Omit<FuzzReport, 'elapsedMs'> {
    const accepted = this.#tally.said('job accepted').length;
    return {
      actions: this.#actions,
      interactions: this.#interactions,
      checks: this.#checks,
      acceptedJobs: accepted,
      answeredJobs: answersIn(this.#bot.fake).size,
      maxAckMs: this.#maxAckMs,
      lateAcks: this.#lateAcks,
    };
  }

  /**
   * Waits until every job accepted so far has finished (at most `withinMs`), then checks what their answers wrote:
   * each run ends settled, so that a broken invariant belongs to the run that broke it and fast-check can shrink
   * that run. A job still unfinished then is reported with all that can tell why (see `#stuckReport`).
   */
  async settle(withinMs = SETTLE_MS): Promise<void> {
    const deadline = Date.now() + withinMs;
    while ((await this.#unfinished()).length > 0 && Date.now() < deadline) await sleep(200);
    const unfinished = await this.#unfinished();
    this.#check(unfinished.length === 0, unfinished.length === 0 ? '' : await this.#stuckReport(unfinished, withinMs));
    this.#checkNewVersions();
  }

  /**
   * Why jobs may be stuck, in one report, since a stuck job is rare and may not come back on a replay: each job's
   * record (its status and the queue's journal facts) and what the bot logged about it; the queue's own view (its
   * counts and p-queue's, the waiting and the running jobs); the errors the bot logged (a store write that failed
   * says so there); and how slow the machine and the store are right now.
   */
  async #stuckReport(unfinished: readonly string[], withinMs: number): Promise<string> {
    const reading = Date.now();
    const records = await Promise.all(unfinished.map((id) => this.#jobs.get(id)));
    const readMs = Date.now() - reading;
    const jobs = unfinished.map((id, i) => `${id} (record: ${recordFacts(records[i])}; logged: ${this.#logged(id)})`);
    const queue = this.#bot.app ? JSON.stringify(this.#bot.app.inspectQueue()) : 'not inspectable (the bot runs in its own process)';
    const errors = this.#bot.logs.filter((line) => Number(line['level']) >= ERROR_LEVEL);
    const lastErrors = errors.slice(-REPORTED_ERRORS).map(errorFacts).join(' | ');
    return [
      `accepted jobs never finished within ${withinMs / 1000} s: ${jobs.join(', ')}`,
      `queue: ${queue}`,
      `errors logged: ${errors.length}${errors.length > 0 ? `; the last: ${lastErrors}` : ''}`,
      `load average: ${loadavg().map((load) => load.toFixed(1)).join(' ')}; reading their records took ${readMs} ms`,
    ].join('\n');
  }

  /** What the bot logged about job `jobId`, for a report: each line's message and time, in order. */
  #logged(jobId: string): string {
    const lines = this.#bot.logs.filter((line) => line['jobId'] === jobId);
    return lines.map((line) => `${String(line['msg'])} @${String(line['time'])}`).join(' → ') || 'nothing';
  }

  /** The accepted jobs whose record is not finished yet (a finished job stays finished, so it is read once). */
  async #unfinished(): Promise<string[]> {
    const pending = this.#tally.said('job accepted').map((line) => String(line['jobId'])).filter((id) => !this.#finished.has(id));
    const statuses = await Promise.all(pending.map(async (id) => [id, (await this.#jobs.get(id))?.status ?? 'missing'] as const));
    for (const [id, status] of statuses) if (FINISHED.includes(status)) this.#finished.add(id);
    return pending.filter((id) => !this.#finished.has(id));
  }

  /** Each run starts from the server's defaults, so that one run's `/config set` does not silence the next. */
  async resetSettings(): Promise<void> {
    const run = this.#bot.fake.sendCommand({ name: 'config', subcommand: 'reset', user: this.#members[0] });
    await run.waitForOriginal(() => true, 15_000);
  }

  async act(action: Action, strictDeadline: boolean): Promise<void> {
    this.#actions += 1;
    const before = await this.#savedSettings();
    const failuresBefore = this.#failures();
    const handles = action.kind === 'burst' ? action.commands.flatMap((command) => this.#perform(command)) : this.#perform(action);
    for (const handle of handles) await this.#checkInteraction(handle, strictDeadline);
    if (action.kind === 'react' || action.kind === 'storm') await sleep(50); // a reaction has no acknowledgement to wait for
    this.#checkNewVersions();
    const after = await this.#savedSettings();
    const commands = action.kind === 'burst' ? action.commands : [action];
    const byModerator = commands.some((command) => command.kind === 'command' && command.name === 'config' && command.member === 0);
    this.#check(before === after || byModerator, 'settings changed other than by a moderator’s /config');
    const failures = FAILURES.flatMap((msg) => this.#tally.said(msg));
    this.#check(failures.length === failuresBefore, `a handler failed: ${JSON.stringify(failures.at(-1) ?? null).slice(0, 800)}`);
  }

  /**
   * At the end: every accepted job finished (completed, withheld, failed or cancelled, by its record in the store)
   * and was answered exactly once by the bot's own account, no job has two results in the channel, and nothing any
   * message shows is something a member may not see.
   */
  async finish(): Promise<void> {
    const { fake } = this.#bot;
    await this.settle();
    const accepted = this.#tally.said('job accepted').map((line) => String(line['jobId']));
    const statuses = await Promise.all(accepted.map(async (id) => [id, (await this.#jobs.get(id))?.status] as const));
    const answers = () => ANSWERS.flatMap((msg) => this.#tally.said(msg)).map((line) => String(line['jobId']));
    const unanswered = () => statuses.filter(([id, status]) => status !== 'cancelled' && !answers().includes(id)).map(([id]) => id);
    // A job's answer is logged a moment after its record ends (its message is indexed in between).
    const deadline = Date.now() + ANSWER_LOG_MS;
    while (unanswered().length > 0 && Date.now() < deadline) await sleep(50);
    this.#check(unanswered().length === 0, `jobs the bot never answered: ${unanswered().join(', ')}`);
    this.#check(new Set(answers()).size === answers().length, 'a job answered twice (by the bot’s log)');
    const shown = [...answersIn(fake)].filter(([, messages]) => messages.size > 1).map(([id]) => id);
    this.#check(shown.length === 0, `jobs with two results in the channel: ${shown.join(', ')}`);
    this.#checkNewVersions();
  }

  async close(): Promise<void> {
    await this.#store.close();
  }

  #perform(action: Exclude<Action, { kind: 'burst' }>): InteractionHandle[] {
    const { fake } = this.#bot;
    if (action.kind === 'storm') {
      const message = this.#reactionTarget(action.on, action.pick);
      for (const { member, emoji } of action.reactions) if (message && !message.deleted) fake.addReaction({ message, emoji, user: this.#members[member] });
      return [];
    }
    const user = this.#members[action.member] as FakeMember;
    switch (action.kind) {
      case 'command': {
        this.#remember(action.options);
        return [fake.sendCommand({ name: action.name, user, rawOptions: action.options.map((o) => this.#raw(o)) })];
      }
      case 'small-imagine':
        this.#typed.push(action.prompt);
        return [fake.sendCommand({ name: 'imagine', user, options: { prompt: `fuzz ${action.prompt}`, width: 64, height: 64, steps: 1 } })];
      case 'click': {
        const message = this.#pick(action.on, action.pick);
        if (!message) return [];
        const customId = this.#customId(message, action.customId);
        if ('forged' in action.customId) this.#typed.push(action.customId.forged);
        return Array.from({ length: action.times }, () => fake.clickButton({ message, customId, user, forged: true }));
      }
      case 'react': {
        const message = this.#reactionTarget(action.on, action.pick);
        if (message && !message.deleted) fake.addReaction({ message, emoji: action.emoji, user });
        return [];
      }
    }
  }

  /** A result, or a message that is none (a member's chat line, posted when there is none yet). */
  #reactionTarget(on: 'result' | 'other', pick: number): FakeMessage | undefined {
    const { fake } = this.#bot;
    if (on === 'result') return this.#pick('result', pick);
    return fake.messagesIn().filter((m) => m.customIds.length === 0).at(pick % 5) ?? fake.postMessage({ content: 'just chatting' });
  }

  /** A result (pictures and buttons) or a progress message (a Cancel button) of the channel, by index. */
  #pick(on: 'result' | 'progress', pick: number): FakeMessage | undefined {
    const prefix = on === 'result' ? 'dc:reroll:' : 'dc:cancel:';
    const candidates = this.#bot.fake.messagesIn().filter((m) => m.customIds.some((id) => id.startsWith(prefix)));
    return candidates[pick % Math.max(1, candidates.length)];
  }

  #customId(message: FakeMessage, id: ClickId): string {
    if ('real' in id) return message.customIds[id.real % message.customIds.length] ?? '';
    if ('forged' in id) return id.forged;
    // Another job's id on this message: the fault 2 attack.
    const other = this.#bot.fake.messagesIn().flatMap((m) => m.customIds).find((c) => c.startsWith('dc:') && !message.customIds.includes(c));
    // dc:<action>:<job id>[:<picture>]: the job id is the third part.
    return other ? `dc:${id.otherJob}:${other.split(':')[2] ?? ''}` : `dc:${id.otherJob}:`;
  }

  #raw(option: GeneratedOption): RawOption {
    const { value, options } = option;
    const upload = typeof value === 'object' && value !== null && 'upload' in value ? this.#upload(value as UploadMarker) : undefined;
    return { name: option.name, type: option.type, ...('value' in option ? { value: upload ?? value } : {}), ...(options ? { options: options.map((o) => this.#raw(o)) } : {}) };
  }

  /** The file behind an upload marker, made once per kind. */
  #upload({ upload }: UploadMarker): FakeAttachment {
    const made = this.#uploads.get(upload);
    if (made) return made;
    const { fake } = this.#bot;
    const odd = (kind: OddPictureKind) => () => {
      const { bytes, filename, contentType } = this.#oddPictures[kind];
      return fake.uploadAttachment(bytes, filename, contentType);
    };
    const files: Record<UploadMarker['upload'], () => FakeAttachment> = {
      valid: () => fake.uploadAttachment(INIT_IMAGE, 'cat.png'),
      transparent: () => fake.uploadAttachment(INIT_IMAGE, 'cat.webp', 'image/webp'),
      'lying-type': () => fake.uploadAttachment(Buffer.from('GIF89a not really'), 'cat.png', 'image/png'),
      truncated: () => fake.uploadAttachment(INIT_IMAGE.subarray(0, 120), 'cut.png'),
      'huge-declared': () => fake.uploadAttachment(pngHeaderBomb(60_000, 60_000), 'huge.png'),
      animated: () => fake.uploadAttachment(animated(INIT_IMAGE, 3), 'moving.png'),
      'not-an-image': () => fake.uploadAttachment(Buffer.from('#!/bin/sh\necho hi\n'), 'script.sh', 'text/x-sh'),
      empty: odd('empty'),
      'one-pixel': odd('one-pixel'),
      'extreme-aspect': odd('extreme-aspect'),
      'sixteen-bit': odd('sixteen-bit'),
      'grey-alpha': odd('grey-alpha'),
      'cmyk-jpeg': odd('cmyk-jpeg'),
      gif: odd('gif'),
      'svg-bomb': odd('svg-bomb'),
      oversize: odd('oversize'),
    };
    const attachment = files[upload]();
    this.#uploads.set(upload, attachment);
    return attachment;
  }

  #remember(options: readonly GeneratedOption[]): void {
    for (const option of options) {
      const { value } = option;
      const upload = typeof value === 'object' && value !== null && 'upload' in value;
      if (value !== undefined && !upload) this.#typed.push(typeof value === 'string' ? value : JSON.stringify(value));
      this.#remember(option.options ?? []);
    }
  }

  /** Acknowledged (within 3 s when strict), and every answer printable and free of leaks. */
  async #checkInteraction(handle: InteractionHandle, strictDeadline: boolean): Promise<void> {
    this.#interactions += 1;
    const settled = (h: InteractionHandle) => h.acknowledgement !== undefined && (h.acknowledgement.type === InteractionResponseType.DeferredMessageUpdate || h.followUps.length > 0 || (h.original !== undefined && !h.original.loading));
    await handle.waitFor(settled, 30_000, 'an answer').catch(() => undefined);
    const ack = handle.acknowledgement;
    this.#check(ack !== undefined, `${handle.describe()} was never acknowledged`);
    const latency = ack?.latencyMs ?? 0;
    this.#maxAckMs = Math.max(this.#maxAckMs, latency);
    if (latency > 3000) this.#lateAcks += 1;
    if (strictDeadline) this.#check(latency <= 3000, `${handle.describe()} acknowledged after ${latency} ms`);
    for (const message of [handle.original, ...handle.followUps]) if (message) this.#checkVisible(message);
  }

  /**
   * Every message version written since the last look, whichever action caused it: results arrive after the
   * action that asked for them, and are checked after the next one (or at the end).
   */
  #checkNewVersions(): void {
    const { fake } = this.#bot;
    for (const message of [...fake.messagesIn(), ...fake.interactions.flatMap((h) => [h.original, ...h.followUps])]) {
      if (message) this.#checkVisible(message);
    }
  }

  #checkVisible(message: FakeMessage): void {
    const seen = this.#versionsChecked.get(message.id) ?? 0;
    this.#versionsChecked.set(message.id, message.versions.length);
    for (const version of message.versions.slice(seen)) {
      const problem = visibleProblem(visibleText(version), (word) => this.#typed.some((text) => text.includes(word)));
      this.#check(problem === undefined, `message ${message.id} shows ${problem}`);
    }
  }

  #check(ok: boolean, what: string): void {
    this.#checks += 1;
    assert.ok(ok, what);
  }

  #failures(): number {
    return FAILURES.reduce((sum, msg) => sum + this.#tally.said(msg).length, 0);
  }

  async #savedSettings(): Promise<string> {
    return JSON.stringify((await this.#settings.effective(this.#bot.fake.guild.id)).settings);
  }
}

/** pino's level of `log.error`: a store write that failed is logged at it. */
const ERROR_LEVEL = 50;
/** How many of the last error lines a report on a stuck job quotes. */
const REPORTED_ERRORS = 5;

/** A job record's facts for a report (not its request: a prompt can be a screenful of hostile text). */
function recordFacts(record: JobRecord | undefined): string {
  if (!record) return 'none';
  const { status, createdAt, queue, messageId, failure, result } = record;
  return JSON.stringify({ status, ageMs: Date.now() - createdAt, queue, messageId, failure, finishedAt: result?.finishedAt });
}

/** An error line's message, its error's and its time. */
function errorFacts(line: Record<string, unknown>): string {
  const error = line['err'] as { message?: unknown } | undefined;
  return `${String(line['msg'])}${error ? `: ${String(error.message)}` : ''} @${String(line['time'])}`;
}

/** The statuses a job ends in. */
const FINISHED: readonly string[] = ['completed', 'blocked', 'failed', 'cancelled'];

/** The log lines of a job's answer: its result, its withheld notice (the content policy), or its failure. */
const ANSWERS = ['job answered', 'job withheld by the content policy', 'job failed'] as const;

/** The log lines of a handler that threw: the member saw "Something went wrong" (or nothing). */
const FAILURES = ['interaction handler failed', 'reaction handler failed'] as const;
