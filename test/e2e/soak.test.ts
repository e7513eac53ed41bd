// Issue 10's soak: 500 mixed actions from 30 members against the real bot, with 429s and 5xx injected and a restart
// in the middle. Every accepted job must be answered exactly once; the counts are printed.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { FakeDiscord, FakeMember, FaultSpec, InteractionHandle, OptionValues } from '../support/fake-discord/index.js';
import { startBot, type BotHarness, type BotHarnessOptions } from '../support/bot-harness.js';
import { answersIn, count, LogTally, tooLate } from '../support/job-answers.js';
import { seededRandom } from '../support/seeded-random.js';

const ACTIONS = 500;
const MEMBERS = 30;
const WAVE = 25;
/** The restart comes after this many actions. */
const RESTART_AT = 250;
/**
 * Accepted jobs not yet answered before the next wave goes out. Members send more than the tiny model can draw at
 * once; without a pause most would only hit their waiting limit.
 */
const MAX_BACKLOG = 60;

const next = seededRandom(10);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;

const SAMPLERS = ['Euler a', 'DPM++ 2M Karras', 'euler', 'ddim', 'lms', 'unipc', 'DPM++ 2M'];
const INVALID: readonly OptionValues[] = [
  { prompt: 'x'.repeat(5000) },
  { prompt: 'a cat', steps: 0 },
  { prompt: 'a cat', width: 100 },
  { prompt: 'a cat', seed: 'NaN' },
  { prompt: 'a cat', sampler: 'no such sampler' },
  { prompt: '\u200B\u0000' },
  { prompt: 'a cat', count: 9 },
];
/** The faults injected before some waves, in turn. */
const FAULTS: readonly FaultSpec[] = [
  { method: 'PATCH', path: '/messages/@original', status: 429, retryAfter: 0.2, times: 3 },
  { method: 'PATCH', path: '/messages/@original', status: 503, times: 6 },
  { method: 'POST', path: '/callback', status: 429, retryAfter: 0.3, global: true },
  { method: 'POST', path: '/messages', status: 502, times: 5 },
  { method: 'POST', path: '/callback', status: 500, times: 2 },
  { method: 'PATCH', path: '/messages/', status: 500, times: 4 },
];

type Kind = 'imagine' | 'invalid' | 'reaction' | 'reroll-button' | 'info-button';

function validImagine(): OptionValues {
  const options: Record<string, string | number> = {
    prompt: `soak ${pick(['fox', 'lighthouse', 'cat', 'forest', 'ship'])} ${Math.floor(next() * 1000)}`,
    steps: pick([1, 2]),
    width: 64,
    height: pick([64, 64, 128]),
    seed: String(Math.floor(next() * 2 ** 32)),
    sampler: pick(SAMPLERS),
    cfg: pick([1, 4.5, 7]),
  };
  if (next() < 0.2) options['count'] = 2;
  if (next() < 0.3) options['negative'] = 'blurry';
  return options;
}

/** Why a member's request was refused, from the bot's private reply. */
function refusalReason(text: string): string {
  const reasons: readonly [RegExp, string][] = [
    [/restarting|starting up/, 'bot restarting'],
    [/waiting \(the limit is|queue is full/, 'queue limit'],
    [/Please wait/, 'cooldown'],
    [/Something went wrong/, 'error reported'],
    [/`|sampler|empty/, 'invalid option'],
  ];
  return reasons.find(([pattern]) => pattern.test(text))?.[1] ?? `other: ${text.slice(0, 60)}`;
}

describe('soak (issue 10)', () => {
  const bots: BotHarness[] = [];
  after(async () => {
    for (const bot of bots) await bot.stopBot();
    await bots[0]?.fake.stop();
  });

  it(`${ACTIONS} mixed actions from ${MEMBERS} members, with 429s, 5xx and a restart: every accepted job is answered exactly once`, { timeout: 300_000 }, async () => {
    const started = Date.now();
    const options: BotHarnessOptions = {
      defaults: (d) => ({ ...d, limits: { ...d.limits, maxQueuedPerMember: 10 }, queue: { ...d.queue, maxQueued: 1000 } }),
    };
    let bot = await startBot(options);
    bots.push(bot);
    const fake: FakeDiscord = bot.fake;
    const members: FakeMember[] = [fake.member, ...Array.from({ length: MEMBERS - 1 }, (_, i) => fake.createMember({ username: `soak${i}` }))];
    const sent: Sent[] = [];
    const counts: Record<Kind, number> = { imagine: 0, invalid: 0, reaction: 0, 'reroll-button': 0, 'info-button': 0 };
    const faults = [];
    let when: Sent['when'] = 'up';
    const logs = () => bots.flatMap((b) => b.logs);
    const tally = new LogTally(() => bots.map((b) => b.logs));
    const said = (msg: string) => tally.said(msg);
    const backlog = () => said('job accepted').length - said('job answered').length - said('job failed').length;

    const results = () => fake.messagesIn().filter((message) => message.attachments.length > 0 && message.customIds.some((id) => id.startsWith('dc:reroll:')));
    const act = () => {
      const user = pick(members);
      const roll = next();
      const done = results();
      const kind: Kind = done.length === 0 || roll < 0.55 ? 'imagine' : roll < 0.7 ? 'invalid' : roll < 0.83 ? 'reaction' : roll < 0.96 ? 'reroll-button' : 'info-button';
      counts[kind] += 1;
      if (kind === 'reaction') {
        fake.addReaction({ message: pick(done), emoji: pick(['🎲', '🔁']), user });
        return;
      }
      let handle: InteractionHandle;
      if (kind === 'imagine' || kind === 'invalid') {
        handle = fake.sendCommand({ name: 'imagine', user, options: kind === 'imagine' ? validImagine() : pick(INVALID) });
      } else {
        const message = pick(done);
        const prefix = kind === 'reroll-button' ? 'dc:reroll:' : 'dc:info:';
        handle = fake.clickButton({ message, user, customId: message.customIds.find((id) => id.startsWith(prefix)) ?? '' });
      }
      sent.push({ handle, kind, when });
    };
    const wave = async (count: number) => {
      const start = sent.length;
      for (let i = 0; i < count; i += 1) act();
      if (when !== 'up') return;
      await Promise.all(sent.slice(start).map(({ handle }) => fake.waitFor(() => handle.acknowledgement ?? tooLate(fake, handle), 15_000, `an answer to ${handle.describe()}`)));
      await fake.waitFor(() => backlog() <= MAX_BACKLOG, 60_000, 'the backlog to shrink');
    };

    let actions = 0;
    for (let waves = 0; actions < ACTIONS; waves += 1) {
      if (waves % 2 === 1) faults.push(fake.injectFault(FAULTS[faults.length % FAULTS.length] as FaultSpec));
      if (bots.length === 1 && actions >= RESTART_AT) {
        // Stop with jobs waiting and running; members keep asking while it stops and while it is down.
        when = 'stopping';
        const stopping = bot.stopBot();
        await wave(5);
        await stopping;
        when = 'down';
        await wave(5);
        bot = await startBot({ ...options, fake, storeUrl: bot.storeUrl });
        bots.push(bot);
        when = 'up';
        actions += 10;
        continue;
      }
      await wave(WAVE);
      actions += WAVE;
    }

    // Quiet: every interaction the bot received has its outcome, and every accepted job its answer. A job lost
    // shows up in the counts below rather than as a bare time-out.
    const answers = () => answersIn(fake);
    const settled = () => sent.every((entry) => outcomeOf(entry, tally.acceptedInteractions, fake) !== 'unanswered');
    await fake.waitFor(() => backlog() === 0 && settled(), 120_000, 'quiet').catch(() => undefined);
    await fake.waitFor(() => said('job accepted').every((line) => answers().has(String(line['jobId']))), 10_000, 'the answers').catch(() => undefined);

    const accepted = said('job accepted');
    const acceptedIds = accepted.map((line) => String(line['jobId']));
    const answered = answers();
    const duplicates = acceptedIds.filter((id) => (answered.get(id)?.size ?? 0) > 1);
    const lost = acceptedIds.filter((id) => !answered.has(id));
    const outcomes = count(sent.map((entry) => outcomeOf(entry, tally.acceptedInteractions, fake)));
    const byBot = [...said('job answered'), ...said('job failed')].map((line) => String(line['jobId']));

    console.log(`# soak: ${ACTIONS} actions from ${MEMBERS} members in ${((Date.now() - started) / 1000).toFixed(1)} s, one restart`);
    console.log(`#   sent: ${JSON.stringify(counts)}`);
    console.log(`#   accepted: ${acceptedIds.length} jobs ${JSON.stringify(count(accepted.map((line) => String(line['via']))))}`);
    console.log(`#   interactions: ${JSON.stringify(outcomes)}`);
    console.log(`#   answered: ${answered.size} (${said('job failed').length} of them failures), duplicates: ${duplicates.length}, lost: ${lost.length}`);
    console.log(`#   faults injected: ${faults.map((f) => `${f.spec.status} ${f.spec.method ?? ''} ${String(f.spec.path)} ×${f.hits}`).join(', ')}`);

    const story = (ids: readonly string[]) => storyOf(ids, logs(), fake);
    assert.deepEqual(duplicates, [], `no job answered twice:\n${story(duplicates)}`);
    assert.deepEqual(lost, [], `no accepted job lost:\n${story(lost)}`);
    assert.equal(outcomes['unanswered'], undefined, 'every interaction the bot received got an answer');
    assert.equal(new Set(byBot).size, byBot.length, 'the bot answered each job once, by its own account');
    assert.equal(byBot.length, acceptedIds.length);
    assert.ok(faults.every((fault) => fault.hits > 0), 'every injected fault was hit');
    assert.deepEqual([...new Set(fake.violations.map((violation) => violation.rule))].filter((rule) => rule !== 'ack-deadline'), []);
  });
});

/** For a failure message: what the bots logged about the first jobs of `ids`, and what their messages showed. */
function storyOf(ids: readonly string[], lines: readonly Record<string, unknown>[], fake: FakeDiscord): string {
  const shown = (messageId: unknown) => {
    const message = fake.message(String(messageId));
    if (!message) return '';
    const versions = message.versions.map((v) => [v.content.slice(0, 80), v.attachments.length, v.embeds[0]?.footer?.text]);
    return JSON.stringify({ deleted: message.deleted, ephemeral: message.ephemeral, versions });
  };
  return ids
    .slice(0, 3)
    .map((id) => lines.filter((line) => JSON.stringify(line).includes(id)).map((line) => `${JSON.stringify(line)} ${shown(line['messageId'])}`).join('\n'))
    .join('\n\n');
}

/** One interaction the soak sent, and whether the bot was up then (`stopping`, `down`: Discord may never deliver it). */
interface Sent {
  readonly handle: InteractionHandle;
  readonly kind: Kind;
  readonly when: 'up' | 'stopping' | 'down';
}

/** What became of one interaction, from the member's side and the bot's log. */
function outcomeOf(entry: Sent, acceptedInteractions: ReadonlySet<string>, fake: FakeDiscord): string {
  const { handle, kind, when } = entry;
  if (acceptedInteractions.has(handle.id)) return 'accepted';
  if (tooLate(fake, handle)) return 'acknowledged too late';
  const reply = handle.followUps[0]?.content ?? (handle.ephemeral ? handle.original?.content : undefined);
  if (reply === undefined) return when !== 'up' && !handle.acknowledgement ? 'never delivered (bot stopping or down)' : 'unanswered';
  return kind === 'info-button' && reply.startsWith('Job ') ? 'parameters shown' : `refused: ${refusalReason(reply)}`;
}
