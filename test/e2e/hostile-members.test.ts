// Issue 23: the three faults the fuzzer found, each pinned by a test against the real bot.
import assert from 'node:assert/strict';
import { ApplicationCommandOptionType as Type, PermissionFlagsBits } from 'discord.js';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MEMBER_PERMISSIONS, type FakeMember, type FakeMessage, type InteractionHandle, type OptionValues, type RawOption } from '../support/fake-discord/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';
import { privateAnswer } from '../support/pictures.js';

/** The text of the member's private answer to an interaction. */
const answerOf = async (run: InteractionHandle): Promise<string> => (await privateAnswer(run)).content;

describe('hostile members (issue 23)', () => {
  let bot: BotHarness;
  let alice: FakeMember;
  let bob: FakeMember;
  let moderator: FakeMember;
  const imagine = (options: OptionValues, user: FakeMember) =>
    bot.fake.sendCommand({ name: 'imagine', user, options: { prompt: 'a cat', ...FAST, steps: 1, ...options } });
  const resultOf = (run: InteractionHandle) => run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
  const jobOf = (message: FakeMessage) => /Job ([0-9a-f-]{36})/.exec(message.embeds[0]?.footer?.text ?? '')?.[1] ?? '';
  const accepted = () => bot.logs.filter((line) => line['msg'] === 'job accepted').length;
  const failures = () => bot.logs.filter((line) => line['msg'] === 'interaction handler failed');

  before(async () => {
    bot = await startBot();
    alice = bot.fake.member;
    bob = bot.fake.createMember({ username: 'bob' });
    moderator = bot.fake.createMember({ username: 'mod', permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageMessages });
  });
  after(() => bot.stop());

  it('fault 1: 🗑️ clicked twice at once, by the member and a moderator, deletes once and reports no error', { timeout: 60_000 }, async () => {
    const result = await resultOf(imagine({ prompt: 'delete me twice' }, alice));
    const deleteId = result.customIds.find((id) => id.startsWith('dc:delete:')) ?? '';
    const clicks = [bot.fake.clickButton({ message: result, customId: deleteId, user: alice }), bot.fake.clickButton({ message: result, customId: deleteId, user: moderator })];
    await Promise.all(clicks.map((click) => click.waitFor((handle) => handle.acknowledgement !== undefined, 10_000, 'the click to be acknowledged')));
    await bot.fake.waitFor(() => bot.logs.filter((line) => line['msg'] === 'result deleted').length === 2, 10_000, 'both clicks to finish');
    assert.equal(bot.fake.message(result.id)?.deleted, true);
    assert.deepEqual(clicks.map((click) => click.followUps.map((message) => message.content)), [[], []], 'neither click got an error message');
    assert.deepEqual(failures(), []);
  });

  it("fault 2: a button carrying one's own job id acts only on that job's message, and the refusal names both", { timeout: 60_000 }, async () => {
    const mine = await resultOf(imagine({ prompt: "alice's" }, alice));
    const theirs = await resultOf(imagine({ prompt: "bob's" }, bob));
    const before = accepted();
    for (const action of ['delete', 'reroll', 'vary', 'info']) {
      const forged = bot.fake.clickButton({ message: theirs, customId: `dc:${action}:${jobOf(mine)}`, user: alice, forged: true });
      assert.equal(await answerOf(forged), "This button doesn't belong to this message.", action);
    }
    assert.equal(bot.fake.message(theirs.id)?.deleted, false, "bob's result is still there");
    assert.equal(accepted(), before, 'nothing was rerun');
    const refusal = bot.logs.find((line) => line['msg'] === "button refused: not on its job's message");
    assert.equal(refusal?.['jobId'], jobOf(mine));
    assert.equal(refusal?.['messageId'], theirs.id);
    assert.equal(refusal?.['messageJobId'], jobOf(theirs));
  });

  it('fault 3: payloads Discord never sends get one specific sentence, before any handler runs', { timeout: 60_000 }, async () => {
    const upload = bot.fake.uploadAttachment(Buffer.from('not a picture'), 'x.png');
    const cases: readonly (readonly [string, readonly RawOption[], string])[] = [
      ['imagine', [{ name: 'prompt', type: Type.String, value: 'a cat' }, { name: 'steps', type: Type.String, value: '20' }], '`steps` must be a whole number from 1 to 150, got 20.'],
      ['imagine', [{ name: 'prompt', type: Type.String, value: 'a cat' }, { name: 'steps', type: Type.Integer, value: { valueOf: 2 } }], '`steps` must be a whole number from 1 to 150, got {"valueOf":2}.'],
      ['imagine', [{ name: 'prompt', type: Type.Integer, value: 7 }], '`prompt` must be text.'],
      ['imagine', [{ name: 'wrapped', type: Type.Subcommand, options: [{ name: 'prompt', type: Type.String, value: 'a cat' }] }], '`/imagine` has no subcommands.'],
      ['imagine', [{ name: 'prompt', type: Type.String, value: 'a cat' }, { name: 'nsfw', type: Type.Boolean, value: true }], '`/imagine` has no option by that name.'],
      ['imagine', [{ name: 'prompt', type: Type.String, value: 'a cat' }, { name: 'prompt', type: Type.String, value: 'a dog' }], '`/imagine` got `prompt` twice.'],
      ['imagine', [{ name: 'prompt', type: Type.String, value: 'a cat' }, { name: 'aspect', type: Type.String, value: '7:\u0000' }], '`aspect` must be one of 1:1, 2:3, 3:2, 3:4, 4:3, 9:16, 16:9, 9:21, 21:9, got 7:\\u0000.'],
      ['imagine', [], '`/imagine` needs `prompt`, or `parameters` with a pasted AUTOMATIC1111 block.'],
      ['inpaint', [], '`/inpaint` needs `image`.'],
      ['config', [], '`/config` needs one of its subcommands: show, set, reset, history.'],
      ['config', [{ name: 'purge', type: Type.Subcommand, options: [] }], '`/config` needs one of its subcommands: show, set, reset, history.'],
      ['config', [{ name: 'set', type: Type.Subcommand, options: [{ name: 'key', type: Type.String, value: 'steps' }] }], '`/config set` needs `value`.'],
      ['config', [{ name: 'set', type: Type.Subcommand, options: [{ name: 'value', type: Type.String, value: '1' }] }], '`/config set` needs `key`.'],
      ['variation', [{ name: 'job', type: Type.Integer, value: 42 }], '`job` must be text.'],
      ['variation', [{ name: 'image', type: Type.String, value: upload.id }], '`image` must be a file you upload with the command.'],
      ['inpaint', [{ name: 'image', type: Type.Attachment, value: '1234567890123456789' }, { name: 'prompt', type: Type.String, value: 'x' }], '`image` must be a file you upload with the command.'],
    ];
    const before = accepted();
    for (const [name, rawOptions, expected] of cases) {
      const run = bot.fake.sendCommand({ name, rawOptions, user: moderator });
      assert.equal(await answerOf(run), expected, `/${name} ${JSON.stringify(rawOptions)}`);
    }
    assert.equal(accepted(), before, 'no job ran');
    assert.deepEqual(failures(), []);
  });

  it('found by the fuzz: a line separator in a prompt is not echoed raw in the result', { timeout: 60_000 }, async () => {
    const result = await resultOf(imagine({ prompt: '\u2028(word:1e9)\u2029a cat' }, alice));
    assert.equal(result.embeds[0]?.fields?.find((field) => field.name === 'Prompt')?.value, '(word:1e9) a cat');
  });

  it('found by the fuzz: a job id with a C1 control in it is quoted escaped', { timeout: 30_000 }, async () => {
    const answer = await answerOf(bot.fake.sendCommand({ name: 'variation', user: alice, options: { job: '\u0085' } }));
    assert.match(answer, /got `\\u0085`\.$/);
  });

  it('fault 3: a seed with a NUL in it is quoted with the NUL escaped, never sent raw', { timeout: 30_000 }, async () => {
    const answer = await answerOf(imagine({ seed: '42\u0000' }, alice));
    assert.equal(answer, '`seed` must be a whole number from 0 to 18446744073709551615, or -1 for a random seed; got 42\\u0000.');
  });
});
