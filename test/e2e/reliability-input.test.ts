// Issue 10, hostile input, rate limits and secrets: what a member (or a modified client) can send, against the real
// bot, and where the bot token must never show up.
import assert from 'node:assert/strict';
import { requestDefaults } from '../support/requests.js';
import { existsSync, readFileSync } from 'node:fs';
import { PermissionFlagsBits, ButtonStyle, ComponentType } from 'discord.js';
import { after, before, describe, it } from 'node:test';
import { DEFAULTS_PATH, readDefaults } from '../../src/config/index.js';
import { buildGenerationRequest } from '../../src/jobs/build-request.js';
import { REQUEST_LIMITS } from '../../src/pipeline/index.js';
import { defaultSettings } from '../../src/settings/keys.js';
import { DEFAULT_MEMBER_PERMISSIONS, type FakeMember, type FakeMessage, type InteractionHandle, type OptionValues } from '../support/fake-discord/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { privateAnswer } from '../support/pictures.js';

/** Looks like a real bot token (id . timestamp . HMAC), so a leak in any form would be found. */
const TOKEN = 'MTE5ODc2NTQzMjEwOTg3NjU0Mw.GhIjKl.hostile-suite-secret_0123456789abcdefgh';

/** The pipeline's request contract, which the bot's bounds come from. */
const { cfg: CFG, size: SIZE } = REQUEST_LIMITS;

/** Each hostile /imagine and the refusal it must get. `prompt` is added when the case leaves it out. */
const HOSTILE: readonly (readonly [OptionValues, RegExp])[] = [
  [{ prompt: 'x'.repeat(100_000) }, /^`prompt` is 100000 characters long; the limit is 1500\.$/],
  [{ prompt: '\u200B\u200D\uFEFF\u0000\u0007 \u2066\u2069\u{E0041}\u3164\u00AD' }, /^`prompt` is empty\.$/],
  [{ negative: 'y'.repeat(5000) }, /^`negative` is 5000 characters long; the limit is 1500\.$/],
  [{ prompt: 'BREAK '.repeat(250) }, /^`prompt` uses BREAK 250 times; the limit is 16\.$/],
  [{ steps: 0 }, /^`steps` must be a whole number from 1 to 150, got 0\.$/],
  [{ steps: -5 }, /got -5\.$/],
  [{ steps: 151 }, /got 151\.$/],
  [{ steps: 1.5 }, /^`steps` must be a whole number from 1 to 150, got 1\.5\.$/],
  [{ steps: 1e300 }, /got 1e\+300\.$/],
  [{ steps: Number.MAX_SAFE_INTEGER + 2 }, /got 9007199254740992\.$/],
  [{ steps: '20' }, /^`steps` must be a whole number from 1 to 150, got 20\.$/],
  [{ cfg: -1 }, new RegExp(`^\`cfg\` must be a number from ${CFG.min} to ${CFG.max}, got -1\\.$`)],
  [{ cfg: 1e308 }, /got 1e\+308\.$/],
  [{ cfg: -1e308 }, /got -1e\+308\.$/],
  [{ width: SIZE.max + 8 }, new RegExp(`^\`width\` must be a whole number from ${SIZE.min} to ${SIZE.max}, got ${SIZE.max + 8}\\.$`)],
  [{ width: -64 }, /got -64\.$/],
  [{ width: 100 }, /^`width` must be a multiple of 8, got 100\.$/],
  [{ height: 63.5 }, new RegExp(`^\`height\` must be a whole number from ${SIZE.min} to ${SIZE.max}, got 63\\.5\\.$`)],
  [{ count: 0 }, /^`count` must be a whole number from 1 to 4, got 0\.$/],
  [{ count: 5 }, /got 5\.$/],
  [{ count: -1 }, /got -1\.$/],
  [{ seed: '18446744073709551616' }, /^`seed` must be a whole number from 0 to 18446744073709551615, or -1 for a random seed; got 18446744073709551616\.$/],
  [{ seed: '-2' }, /got -2\.$/],
  [{ seed: 'NaN' }, /got NaN\.$/],
  [{ seed: 'Infinity' }, /got Infinity\.$/],
  [{ seed: '-Infinity' }, /got -Infinity\.$/],
  [{ seed: '1e5' }, /got 1e5\.$/],
  [{ seed: '0x10' }, /got 0x10\.$/],
  [{ seed: '٣٤' }, /got ٣٤\.$/],
  [{ seed: '9'.repeat(100_000) }, /^`seed` is 100000 characters long; the limit is 24\.$/],
  [{ sampler: 's'.repeat(100_000) }, /^`sampler` s{40}… is not a sampler\.$/],
  [{ sampler: 'Euler z' }, /^Unknown sampler "Euler z"\. Valid samplers: /],
  [{ aspect: '0:0' }, /^`aspect` must be one of 1:1, 2:3, 3:2, 3:4, 4:3, 9:16, 16:9, 9:21, 21:9, got 0:0\.$/],
  [{ aspect: '1:0' }, /got 1:0\.$/],
  [{ aspect: '999:1' }, /got 999:1\.$/],
  [{ aspect: 'a'.repeat(100_000) }, /got a{40}…\.$/],
];

describe('hostile input, rate limits and secrets (issue 10)', () => {
  let bot: BotHarness;
  let mallory: FakeMember;
  let result: FakeMessage;
  const imagine = (options: OptionValues, user?: FakeMember) =>
    bot.fake.sendCommand({ name: 'imagine', ...(user ? { user } : {}), options: { prompt: 'a cat', ...FAST, ...options } });
  const resultOf = (run: InteractionHandle) => run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
  const accepted = (member: FakeMember) => bot.logs.filter((line) => line['msg'] === 'job accepted' && line['userId'] === member.user.id);

  before(async () => {
    bot = await startBot({ fakeOptions: { token: TOKEN } });
    mallory = bot.fake.createMember({ username: 'mallory' });
    result = await resultOf(imagine({ prompt: 'a lighthouse', seed: '7' }));
  });
  after(() => bot.stop());

  it('refuses every hostile option privately, in one short sentence, and the queue keeps working', { timeout: 60_000 }, async () => {
    const runs = HOSTILE.map(([options]) => imagine(options));
    for (const [i, run] of runs.entries()) {
      // What Discord's client would not send is refused before the bot acknowledges; the rest after.
      const refusal = await privateAnswer(run);
      assert.match(refusal.content, HOSTILE[i]?.[1] ?? /never/, `case ${i}: ${JSON.stringify(HOSTILE[i]?.[0]).slice(0, 80)}`);
    }
    await resultOf(imagine({ prompt: 'after the storm' }));
    assert.deepEqual(bot.fake.violations, []);
  });

  it('NaN and ±Infinity, which JSON cannot carry, are refused by the validation too', () => {
    const defaults = readDefaults(DEFAULTS_PATH);
    const settings = defaultSettings(defaults);
    const refusal = (options: Record<string, unknown>) => {
      const built = buildGenerationRequest('txt2img', { prompt: 'a cat', ...options }, settings, requestDefaults(defaults.generation));
      return built.ok ? 'accepted' : built.message;
    };
    assert.equal(refusal({ steps: Number.NaN }), '`steps` must be a whole number from 1 to 150, got NaN.');
    assert.equal(refusal({ cfg: Number.POSITIVE_INFINITY }), `\`cfg\` must be a number from ${CFG.min} to ${CFG.max}, got Infinity.`);
    assert.equal(refusal({ width: Number.NEGATIVE_INFINITY }), `\`width\` must be a whole number from ${SIZE.min} to ${SIZE.max}, got -Infinity.`);
    assert.equal(refusal({ count: { valueOf: () => 2 } }), '`count` must be a whole number from 1 to 4, got {}.');
    assert.equal(refusal({ seed: 2n ** 64n }), '`seed` must be a whole number from 0 to 18446744073709551615, or -1 for a random seed; got 18446744073709551616.');
  });

  it('cleans invisible and control characters out of a prompt, and an @everyone in it pings no one', { timeout: 60_000 }, async () => {
    const run = imagine({ prompt: '@everyone a\u200Bc\u0007a\u202Et <@&1234567890123456789>' });
    const shown = await resultOf(run);
    assert.equal(shown.embeds[0]?.fields?.find((field) => field.name === 'Prompt')?.value, '@everyone ac at <@&1234567890123456789>');
    const writes = bot.fake.requests.filter((request) => request.path.includes(run.token) && JSON.stringify(request.json ?? {}).includes('@everyone'));
    assert.ok(writes.length > 0);
    for (const write of writes) {
      const mentions = (write.json as { allowed_mentions?: { parse?: string[] } }).allowed_mentions;
      assert.deepEqual(mentions?.parse, [], `${write.method} ${write.route ?? write.path} lets only the member be mentioned`);
    }
  });

  it('refuses tampered buttons: another member’s job, jobs that do not exist, forged actions', { timeout: 60_000 }, async () => {
    const jobId = /Job ([0-9a-f-]{36})/.exec(result.embeds[0]?.footer?.text ?? '')?.[1];
    assert.ok(jobId);
    const slow = imagine({ prompt: 'mine to cancel', width: 256, height: 256, steps: 50 });
    const progress = await slow.waitFor((run) => run.original?.customIds.some((id) => id.startsWith('dc:cancel:')) === true, 10_000, 'a Cancel button');
    const cancelId = progress.original?.customIds.find((id) => id.startsWith('dc:cancel:')) ?? '';
    const press = async (message: FakeMessage, customId: string, user: FakeMember) =>
      (await bot.fake.clickButton({ message, customId, user }).waitForOriginal((reply) => !reply.loading, 10_000));

    const stranger = await press(progress.original as FakeMessage, cancelId, mallory);
    assert.ok(stranger.ephemeral);
    assert.equal(stranger.content, 'Only the member who asked (or a moderator) can cancel this job.');

    const missing = '00000000-0000-4000-8000-000000000000';
    const forged: readonly (readonly [string, RegExp])[] = [
      [`dc:cancel:${missing}`, /^I can't find that job any more\.$/],
      [`dc:reroll:${missing}`, /^I can't find that job any more\.$/],
      // A real job's id on a message that is not that job's: refused whatever the action.
      [`dc:delete:${jobId}`, /^This button doesn't belong to this message\.$/],
      [`dc:cancel:${jobId}`, /^This button doesn't belong to this message\.$/],
      [`dc:grant:${jobId}`, /^This button isn't one of mine, or it has expired\.$/],
      [`dc:reroll:${jobId}';DROP TABLE jobs;--`, /^This button isn't one of mine, or it has expired\.$/],
      ['x'.repeat(100), /^This button isn't one of mine, or it has expired\.$/],
    ];
    const decoy = bot.fake.postMessage({
      author: bot.fake.botMember(),
      content: 'a message with doctored buttons',
      components: forged.map(([customId]) => ({
        type: ComponentType.ActionRow,
        components: [{ type: ComponentType.Button, style: ButtonStyle.Secondary, custom_id: customId, label: 'x' }],
      })),
    });
    for (const [customId, expected] of forged) {
      const reply = await press(decoy, customId, mallory);
      assert.ok(reply.ephemeral, customId);
      assert.match(reply.content, expected, customId);
    }
    assert.equal(bot.fake.message(result.id)?.deleted, false, 'the result was not deleted');
    bot.fake.clickButton({ message: progress.original as FakeMessage, customId: cancelId });
    await slow.waitForOriginal((message) => /was cancelled/.test(message.content), 10_000);
    assert.deepEqual(bot.fake.violations, []);
  });

  it('a member spamming 🎲 reactions and buttons under a cooldown gets one job', { timeout: 60_000 }, async () => {
    const moderator = bot.fake.createMember({ username: 'mod', permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild });
    const set = (key: string, value: string) =>
      bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'set', options: { key, value } }).waitForOriginal();
    await set('cooldownSeconds', '600');
    const spammer = bot.fake.createMember({ username: 'spammer' });
    const results = bot.fake.messagesIn().filter((message) => message.attachments.length > 0);
    const reroll = result.customIds.find((id) => id.startsWith('dc:reroll:')) ?? '';
    for (const message of results) bot.fake.addReaction({ message, emoji: '🎲', user: spammer });
    const clicks = Array.from({ length: 20 }, () => bot.fake.clickButton({ message: result, customId: reroll, user: spammer }));
    await Promise.all(clicks.map((click) => click.waitFor((handle) => handle.followUps.length > 0 || handle.original?.attachments.length !== undefined && handle.original.attachments.length > 0, 60_000, 'an answer')));
    const waits = clicks.filter((click) => /^Please wait \d+ s before your next request \(this server's cooldown is 600 s\)\.$/.test(click.followUps[0]?.content ?? ''));
    assert.ok(waits.length >= 19, `the clicks that lost were told to wait (${waits.length})`);
    // A reaction that won the cooldown logs its acceptance after the clicks were answered.
    await bot.fake.waitFor(() => accepted(spammer).length >= 1, 10_000, 'the one accepted reroll');
    await bot.fake.waitFor(() => bot.fake.messagesIn().some((m) => m.attachments.length > 0 && m.content.includes(`<@${spammer.user.id}>`)), 60_000, 'the one reroll');
    assert.equal(accepted(spammer).length, 1, `${results.length} reactions and 20 clicks, one job`);
  });

  it('a member at the waiting limit gets no more jobs from 🎲, however many they press', { timeout: 60_000 }, async () => {
    const moderator = bot.fake.createMember({ username: 'mod2', permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild });
    const set = (key: string, value: string) =>
      bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'set', options: { key, value } }).waitForOriginal();
    await set('cooldownSeconds', '0');
    await set('maxQueuedPerMember', '1');
    const spammer = bot.fake.createMember({ username: 'spammer2' });
    const running = imagine({ prompt: 'holding the GPU', width: 320, height: 320, steps: 50 }, spammer);
    await running.waitFor((run) => run.edits.some((edit) => /step/.test(edit.content)), 30_000, 'the job to run');
    const reroll = result.customIds.find((id) => id.startsWith('dc:reroll:')) ?? '';
    const clicks = Array.from({ length: 10 }, () => bot.fake.clickButton({ message: result, customId: reroll, user: spammer }));
    for (const message of bot.fake.messagesIn().filter((m) => m.attachments.length > 0)) bot.fake.addReaction({ message, emoji: '🎲', user: spammer });
    await Promise.all(clicks.map((click) => click.waitFor((handle) => handle.followUps.length > 0 || (handle.original?.edits.length ?? 0) > 0, 30_000, 'an answer')));
    const full = clicks.filter((click) => click.followUps[0]?.content === 'You already have 1 job waiting (the limit is 1).');
    // The reactions race the clicks for the one free place: at most one click queued a job.
    assert.ok(full.length >= 9, `the clicks that found no place were told the limit (${full.length})`);
    // A reaction that won the place logs its acceptance after the clicks were answered.
    await bot.fake.waitFor(() => accepted(spammer).length >= 2, 10_000, 'the one waiting reroll');
    await resultOf(running);
    assert.equal(accepted(spammer).length, 2, 'the running job and one waiting reroll');
  });

  it('never shows the bot token: not in logs, messages, requests or the store', { timeout: 30_000 }, async () => {
    await bot.stopBot(); // the store is flushed and closed
    assert.ok(!JSON.stringify(bot.logs).includes(TOKEN), 'logs');
    const messages = [
      ...bot.fake.messagesIn(),
      ...bot.fake.interactions.flatMap((handle) => [handle.original, ...handle.followUps]).filter((m) => m !== undefined),
    ];
    for (const message of messages) assert.ok(!JSON.stringify(message.versions).includes(TOKEN), `message ${message.id}`);
    assert.ok(!bot.fake.requests.some((request) => JSON.stringify(request.json ?? null).includes(TOKEN)), 'request bodies');
    const file = bot.storeUrl.slice('sqlite://'.length);
    for (const part of [file, `${file}-wal`]) {
      if (existsSync(part)) assert.ok(!readFileSync(part).includes(TOKEN), part);
    }
  });
});
