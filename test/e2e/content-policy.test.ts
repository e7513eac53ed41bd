import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PermissionFlagsBits } from 'discord.js';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MEMBER_PERMISSIONS, type FakeChannel, type FakeMember, type FakeMessage, type InteractionHandle } from '../support/fake-discord/index.js';
import { FAST, startBot, type BotHarness } from '../support/bot-harness.js';
import { INIT_IMAGE, privateAnswer } from '../support/pictures.js';
import { tempDir } from '../support/temp-dir.js';

// Every mode of the content policy (issue 20) through the real bot: the real classifier (nsfwjs on TensorFlow.js
// WASM) scores the tiny model's real pictures. Those are not explicit, so the threshold decides: 0 flags every
// picture (a score is never below 0), 1 flags none (porn + hentai is never above 1).

const hasFiles = (message: FakeMessage) => message.attachments.length > 0;
const isWithheld = (message: FakeMessage) => message.content.includes('withheld by this server');

function moderatorOf(bot: BotHarness, username: string): FakeMember {
  return bot.fake.createMember({ username, permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild | PermissionFlagsBits.ManageMessages });
}

async function configure(bot: BotHarness, moderator: FakeMember, settings: Record<string, string>): Promise<void> {
  for (const [key, value] of Object.entries(settings)) {
    const reply = await bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'set', options: { key, value } }).waitForOriginal();
    assert.match(reply.content, new RegExp(`\`${key}\``), reply.content);
  }
}

function imagine(bot: BotHarness, prompt: string, channel?: FakeChannel): InteractionHandle {
  return bot.fake.sendCommand({ name: 'imagine', ...(channel ? { channel } : {}), options: { prompt, ...FAST } });
}

/** The audit lines of job `jobId`'s screening. */
function auditOf(bot: BotHarness, jobId: string): Record<string, unknown>[] {
  return bot.logs.filter((line) => line.audit === 'content-policy' && line.jobId === jobId);
}

function jobIdOf(message: FakeMessage): string {
  const id = /Job `?([0-9a-f-]{36})/.exec(message.content + JSON.stringify(message.embeds))?.[1];
  if (!id) assert.fail(`no job id in message ${message.id}`);
  return id;
}

function assertPlain(result: FakeMessage): void {
  assert.ok(result.attachments.every((file) => !file.filename.startsWith('SPOILER_')), result.attachments.map((f) => f.filename).join());
  assert.doesNotMatch(result.content, /Content warning/);
}

function assertSpoiler(result: FakeMessage): void {
  assert.ok(result.attachments.length > 0);
  assert.ok(result.attachments.every((file) => file.filename.startsWith('SPOILER_')), result.attachments.map((f) => f.filename).join());
  assert.match(result.content, /⚠️ Content warning: this server's content filter flagged this result/);
}

describe('the content policy on every result', () => {
  let bot: BotHarness;
  let moderator: FakeMember;
  let restricted: FakeChannel;
  before(async () => {
    bot = await startBot();
    moderator = moderatorOf(bot, 'mod');
    restricted = bot.fake.createChannel({ name: 'after-dark', nsfw: true });
  });
  after(() => bot.stop());

  it('posts an ordinary picture as it is under the default threshold, without an audit line', async () => {
    const result = await imagine(bot, 'a quiet lake').waitForOriginal(hasFiles, 60_000);
    assertPlain(result);
    assert.deepEqual(auditOf(bot, jobIdOf(result)), []);
  });

  it('outside age-restricted channels a flagged result is a spoiler with a warning by default, and audited', async () => {
    await configure(bot, moderator, { nsfwThreshold: '0' });
    const result = await imagine(bot, 'a lighthouse').waitForOriginal(hasFiles, 60_000);
    assertSpoiler(result);
    const [audit, ...more] = auditOf(bot, jobIdOf(result));
    assert.equal(more.length, 0);
    assert.equal(audit?.action, 'spoiler');
    assert.equal(audit?.guildId, bot.fake.guild.id);
    assert.equal(audit?.channelId, bot.fake.channel.id);
    assert.equal(typeof audit?.userId, 'string');
    assert.equal(audit?.ageRestricted, false);
    assert.equal(audit?.threshold, 0);
    const scores = audit?.scores as number[];
    assert.equal(scores.length, 1);
    assert.ok((scores[0] ?? -1) > 0 && (scores[0] ?? 2) < 1, `score ${scores[0]}`);
  });

  it('with nsfwOutside block the result is withheld: a neutral notice, the member told privately, the pictures deleted', async () => {
    await configure(bot, moderator, { nsfwOutside: 'block' });
    const run = imagine(bot, 'a red barn');
    const notice = await run.waitForOriginal(isWithheld, 60_000);
    assert.equal(notice.attachments.length, 0);
    assert.equal(notice.embeds.length, 0);
    assert.doesNotMatch(notice.content, /red barn|<@/);
    const told = await run.waitForFollowUp();
    assert.ok(told.ephemeral);
    assert.match(told.content, /Your result was not posted: the content filter scored it 0\.\d\d explicit, over this server's threshold of 0/);
    const jobId = jobIdOf(notice);
    assert.equal(auditOf(bot, jobId)[0]?.action, 'block');

    const info = notice.customIds.find((id) => id.startsWith('dc:details:'));
    assert.ok(info);
    const refused = await bot.fake.clickButton({ message: notice, customId: info }).waitForOriginal();
    assert.match(refused.content, /Only moderators can see the details/);
    const details = await bot.fake.clickButton({ message: notice, customId: info, user: moderator }).waitForOriginal();
    assert.match(details.content, /prompt:a red barn/);

    const vary = bot.fake.sendCommand({ name: 'variation', options: { job: jobId, prompt: 'again' } });
    assert.match((await vary.waitForFollowUp()).content, /has no finished picture to start from \(it was withheld by the server's content policy\)/);
  });

  it('a threshold of 1 flags nothing, even where flagged results are blocked', async () => {
    await configure(bot, moderator, { nsfwThreshold: '1' });
    const result = await imagine(bot, 'a green field').waitForOriginal(hasFiles, 60_000);
    assertPlain(result);
    assert.deepEqual(auditOf(bot, jobIdOf(result)), []);
  });

  it('in an age-restricted channel the server chooses: allow posts it, spoiler hides it, block withholds it', async () => {
    await configure(bot, moderator, { nsfwThreshold: '0', nsfw: 'allow' });
    const allowed = await imagine(bot, 'a moonlit street', restricted).waitForOriginal(hasFiles, 60_000);
    assertPlain(allowed);
    const allowedAudit = auditOf(bot, jobIdOf(allowed))[0];
    assert.equal(allowedAudit?.action, 'post');
    assert.equal(allowedAudit?.ageRestricted, true);

    await configure(bot, moderator, { nsfw: 'spoiler' });
    assertSpoiler(await imagine(bot, 'a neon sign', restricted).waitForOriginal(hasFiles, 60_000));

    await configure(bot, moderator, { nsfw: 'block' });
    const run = imagine(bot, 'a night train', restricted);
    await run.waitForOriginal(isWithheld, 60_000);
    assert.doesNotMatch((await run.waitForFollowUp()).content, /belong in age-restricted channels/);
  });

  it('a 🎲 reaction\'s job keeps its channel\'s policy: posted in the age-restricted channel, spoilered outside it', async () => {
    await configure(bot, moderator, { nsfw: 'allow', nsfwOutside: 'spoiler' });
    const inside = await imagine(bot, 'a harbour', restricted).waitForOriginal(hasFiles, 60_000);
    const outside = await imagine(bot, 'a mill').waitForOriginal(hasFiles, 60_000);
    assertSpoiler(outside);
    for (const [original, channel, check] of [[inside, restricted, assertPlain], [outside, bot.fake.channel, assertSpoiler]] as const) {
      const seen = new Set(bot.fake.messagesIn(channel).map((message) => message.id));
      bot.fake.addReaction({ message: original, emoji: '🎲' });
      check(await bot.fake.waitForMessage((message) => hasFiles(message) && !seen.has(message.id), { channel, timeoutMs: 60_000 }));
    }
  });

  it('/config show lists the policy and /config history its changes', async () => {
    const show = await bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'show' }).waitForOriginal();
    assert.doesNotMatch(show.content, /Content filter unavailable/);
    const shown = JSON.stringify(show.embeds);
    for (const key of ['nsfw', 'nsfwOutside', 'nsfwThreshold']) assert.ok(shown.includes(key), key);
    assert.match(shown, /Content policy/);
    const history = await bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'history' }).waitForOriginal();
    const text = JSON.stringify(history.embeds);
    assert.match(text, /nsfwOutside/);
    assert.match(text, /spoiler → block/);
  });
});

describe('what members send: explicit terms in prompts (config/explicit-terms.txt) and uploaded pictures', () => {
  let bot: BotHarness;
  let moderator: FakeMember;
  before(async () => {
    bot = await startBot();
    moderator = moderatorOf(bot, 'mod');
  });
  after(() => bot.stop());

  it('are refused outside age-restricted channels, naming the term, and only in the prompt', async () => {
    const refused = imagine(bot, 'a NUDE statue in a park');
    const answer = await refused.waitForFollowUp();
    assert.ok(answer.ephemeral);
    assert.equal(answer.content, 'This prompt has an explicit term ("nude"), which this server allows only in age-restricted channels.');
    const negative = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a statue in a park', negative: 'nsfw, nude', ...FAST } });
    await negative.waitForOriginal(hasFiles, 60_000);
  });

  it('are taken in age-restricted channels, and everywhere once the server allows them', async () => {
    const restricted = bot.fake.createChannel({ name: 'after-dark', nsfw: true });
    await imagine(bot, 'a nude statue', restricted).waitForOriginal(hasFiles, 60_000);
    await configure(bot, moderator, { explicitTerms: 'allow' });
    await imagine(bot, 'a nude statue').waitForOriginal(hasFiles, 60_000);
  });

  it('a flagged upload is refused outside age-restricted channels before anything runs, and audited', async () => {
    await configure(bot, moderator, { nsfwThreshold: '0' });
    const vary = bot.fake.sendCommand({ name: 'variation', options: { image: bot.fake.uploadAttachment(INIT_IMAGE, 'start.png'), prompt: 'a house', steps: 4 } });
    const refusal = await privateAnswer(vary);
    assert.equal(refusal.content, "This picture was flagged by this server's content filter, so I can't start from it here.");
    const audit = bot.logs.find((line) => line.audit === 'content-policy' && line.action === 'refuse-upload');
    assert.equal(audit?.guildId, bot.fake.guild.id);
    assert.equal(audit?.ageRestricted, false);
    assert.equal(typeof audit?.score, 'number');
    const inpaint = bot.fake.sendCommand({ name: 'inpaint', options: { image: bot.fake.uploadAttachment(INIT_IMAGE, 'start.png'), prompt: 'a door', region: 'left', steps: 4 } });
    assert.match((await privateAnswer(inpaint)).content, /flagged by this server's content filter/);
  });

  it('in an age-restricted channel a flagged upload is taken, unless the server blocks flagged results there', async () => {
    const restricted = bot.fake.createChannel({ name: 'uploads-after-dark', nsfw: true });
    const vary = () =>
      bot.fake.sendCommand({ name: 'variation', channel: restricted, options: { image: bot.fake.uploadAttachment(INIT_IMAGE, 'start.png'), prompt: 'a house', steps: 4 } });
    await configure(bot, moderator, { nsfw: 'allow' });
    assertPlain(await vary().waitForOriginal(hasFiles, 60_000));
    await configure(bot, moderator, { nsfw: 'block' });
    assert.match((await privateAnswer(vary())).content, /flagged by this server's content filter/);
  });
});

describe('the content policy when the classifier cannot load', () => {
  let bot: BotHarness;
  let moderator: FakeMember;
  before(async () => {
    bot = await startBot({ env: { NSFW_MODEL: join(tempDir(), 'no-such-model') } });
    moderator = moderatorOf(bot, 'mod');
  });
  after(() => bot.stop());

  it('starts anyway, logs why, and /config show warns', async () => {
    assert.ok(bot.logs.some((line) => line.level === 50 && String(line.msg).includes('content classifier could not load')));
    const show = await bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'show' }).waitForOriginal();
    assert.match(show.content, /⚠️ Content filter unavailable/);
  });

  it('withholds every result outside age-restricted channels, whatever the threshold and nsfwOutside say', async () => {
    await configure(bot, moderator, { nsfwThreshold: '1', nsfwOutside: 'spoiler' });
    const run = imagine(bot, 'a teapot');
    const notice = await run.waitForOriginal(isWithheld, 60_000);
    assert.match((await run.waitForFollowUp()).content, /the content filter could not check it/);
    const [audit] = auditOf(bot, jobIdOf(notice));
    assert.equal(audit?.action, 'block');
    assert.deepEqual(audit?.scores, [null]);
    assert.match(String(audit?.failure), /^unavailable: NSFW_MODEL has no readable model\.json/);
  });

  it('in an age-restricted channel the server\'s nsfw mode still applies', async () => {
    const restricted = bot.fake.createChannel({ name: 'after-dark', nsfw: true });
    await configure(bot, moderator, { nsfw: 'allow' });
    assertPlain(await imagine(bot, 'a teacup', restricted).waitForOriginal(hasFiles, 60_000));
  });
});
