import assert from 'node:assert/strict';
import { PermissionFlagsBits } from 'discord.js';
import { after, describe, it } from 'node:test';
import { DEFAULT_MEMBER_PERMISSIONS } from '../support/fake-discord/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';

describe('moderators configure their server with /config', () => {
  let bot: BotHarness;
  after(() => bot.stop());

  it('is registered for Manage Server only, and refused to a member without it', async () => {
    bot = await startBot();
    const config = bot.fake.commands(bot.fake.guild).find((command) => command.name === 'config');
    assert.equal(config?.default_member_permissions, String(PermissionFlagsBits.ManageGuild));
    const run = bot.fake.sendCommand({ name: 'config', subcommand: 'set', options: { key: 'maxSteps', value: '20' } });
    const reply = await run.waitForOriginal();
    assert.ok(reply.ephemeral);
    assert.match(reply.content, /Only members with Manage Server/);
  });

  it('a moderator lowers maxSteps and a member over it is refused, with the limit named', async () => {
    const moderator = bot.fake.createMember({ username: 'mod', permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild });
    const set = bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'set', options: { key: 'maxSteps', value: '20' } });
    assert.match((await set.waitForOriginal()).content, /`maxSteps`: 50 → 20/);
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'too many steps', ...FAST, steps: 50 } });
    const refusal = await run.waitForFollowUp();
    assert.ok(refusal.ephemeral);
    assert.match(refusal.content, /`steps` 50 is over this server's limit of 20/);
  });

  it('with overLimit clamp the request runs at the limit and the member is told', async () => {
    const moderator = bot.fake.createMember({ username: 'mod2', permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild });
    await bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'set', options: { key: 'overLimit', value: 'clamp' } }).waitForOriginal();
    const run = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'clamped', ...FAST, steps: 50 } });
    const result = await run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
    const embed = result.embeds[0];
    assert.equal(embed?.fields?.find((f) => f.name === 'Steps')?.value, '20');
    assert.match(embed?.description ?? '', /`steps` 50 is over this server's limit of 20; used 20/);
  });

  it('blocked words and allowed channels take effect', async () => {
    const moderator = bot.fake.createMember({ username: 'mod3', permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild });
    await bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'set', options: { key: 'blockedWords', value: 'gore, spider' } }).waitForOriginal();
    const blocked = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a Spider on a wall', ...FAST } });
    assert.match((await blocked.waitForFollowUp()).content, /uses a word that is not allowed on this server/);

    const art = bot.fake.createChannel({ name: 'art' });
    await bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'set', options: { key: 'allowedChannels', value: `<#${art.id}>` } }).waitForOriginal();
    const elsewhere = bot.fake.sendCommand({ name: 'imagine', options: { prompt: 'a cat', ...FAST } });
    assert.match((await elsewhere.waitForFollowUp()).content, new RegExp(`I don't take requests in this channel. Please use <#${art.id}>`));
    const there = bot.fake.sendCommand({ name: 'imagine', channel: art, options: { prompt: 'a cat', ...FAST } });
    await there.waitForOriginal((message) => message.attachments.length > 0, 60_000);
  });

  it('settings survive a restart, and history shows who changed what', async () => {
    await bot.stopBot();
    bot = await startBot({ fake: bot.fake, storeUrl: bot.storeUrl });
    const moderator = bot.fake.createMember({ username: 'mod4', permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild });
    const show = bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'show' });
    const shown = JSON.stringify((await show.waitForOriginal()).embeds);
    assert.match(shown, /maxSteps/);
    assert.match(shown, /20/);
    const history = bot.fake.sendCommand({ name: 'config', user: moderator, subcommand: 'history' });
    const text = (await history.waitForOriginal()).content + JSON.stringify(history.original?.embeds ?? []);
    assert.match(text, /maxSteps/);
    assert.match(text, /50 → 20/);
    assert.match(text, /allowedChannels/);
  });
});
