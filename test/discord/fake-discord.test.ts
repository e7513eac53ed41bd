// The fake Discord's own tests: the real discord.js client, over real sockets, against the fake.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  ComponentType,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  InteractionResponseType,
  Partials,
  PermissionFlagsBits,
  Routes,
  type APIActionRowComponent,
  type APIButtonComponent,
  type ChatInputApplicationCommandData,
  type ChatInputCommandInteraction,
  type Interaction,
  type MessageReaction,
  type PartialMessageReaction,
  type PartialUser,
  type User,
  type TextChannel,
} from 'discord.js';
import {
  DEFAULT_BOT_PERMISSIONS,
  DEFAULT_MEMBER_PERMISSIONS,
  FakeDiscord,
  type FakeDiscordOptions,
} from '../support/fake-discord/index.js';

/** A 3×2 RGB PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAEElEQVR4nGP4z8DAAMFwFgA72AX73hA3ZQAAAABJRU5ErkJggg==',
  'base64',
);

const IMAGINE: ChatInputApplicationCommandData = {
  name: 'imagine',
  description: 'Draw a picture',
  options: [
    { type: ApplicationCommandOptionType.String, name: 'prompt', description: 'What to draw', required: true },
    { type: ApplicationCommandOptionType.Attachment, name: 'image', description: 'A starting image' },
  ],
};

/** An identify throttler that never waits (discord.js's own waits 5 s between IDENTIFYs). */
const NO_IDENTIFY_THROTTLE = { waitForIdentify: (): Promise<void> => Promise.resolve() };

interface ClientOptions {
  readonly intents?: readonly GatewayIntentBits[];
  readonly partials?: readonly Partials[];
  /** Identify again at once after an invalid session, instead of up to 6.5 s later. */
  readonly unthrottled?: boolean;
}

/** A fake Discord plus the clients logged in to it, all closed when the test ends. */
interface Harness {
  readonly fake: FakeDiscord;
  /** Errors thrown inside the bot's handlers. */
  readonly botErrors: unknown[];
  readonly login: (options?: ClientOptions) => Promise<Client>;
  /** Runs `listener` for every interaction, recording what it throws in `botErrors`. */
  readonly onInteraction: (client: Client, listener: (interaction: Interaction) => Promise<void>) => void;
}

async function harness(t: TestContext, options: FakeDiscordOptions = {}): Promise<Harness> {
  const fake = await FakeDiscord.start(options);
  const clients: Client[] = [];
  const botErrors: unknown[] = [];
  t.after(async () => {
    await Promise.all(clients.map((client) => client.destroy()));
    await fake.stop();
  });
  return {
    fake,
    botErrors,
    login: async ({ intents = [GatewayIntentBits.Guilds], partials = [], unthrottled = false } = {}) => {
      const client = new Client({
        intents: [...intents],
        partials: [...partials],
        rest: { api: fake.apiBase, cdn: fake.cdnBase },
        ...(unthrottled ? { ws: { buildIdentifyThrottler: () => Promise.resolve(NO_IDENTIFY_THROTTLE) } } : {}),
      });
      clients.push(client);
      // clientReady can fire before login() resolves: listen first.
      await Promise.all([once(client, Events.ClientReady, { signal: AbortSignal.timeout(5000) }), client.login(fake.token)]);
      return client;
    },
    onInteraction: (client, listener) => {
      client.on(Events.InteractionCreate, (interaction) => {
        listener(interaction).catch((error: unknown) => botErrors.push(error));
      });
    },
  };
}

/** The Discord error code of a rejected discord.js call. */
async function codeOf(promise: Promise<unknown>): Promise<number | string> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof DiscordAPIError, `expected a DiscordAPIError, got ${String(error)}`);
  return error.code;
}

test('the client logs in, receives READY and GUILD_CREATE, caches the world and gets its heartbeats acknowledged', async (t) => {
  const { fake, login } = await harness(t, { heartbeatIntervalMs: 20 });
  const client = await login();

  assert.equal(client.user?.id, fake.bot.id);
  assert.equal(client.application?.id, fake.application.id);
  assert.equal(client.guilds.cache.get(fake.guild.id)?.name, 'Dreamcord Test');
  assert.equal((client.channels.cache.get(fake.channel.id) as TextChannel | undefined)?.name, 'general');
  // An unacknowledged heartbeat makes discord.js reconnect at the next one: three beats on one connection prove the ACKs.
  await fake.waitFor(() => fake.gateway.heartbeats >= 3, 2000, 'three heartbeats');
  assert.deepEqual(fake.gateway, { connections: 1, identifies: 1, resumes: 0, connected: 1, heartbeats: fake.gateway.heartbeats });
  assert.deepEqual(fake.requests.map((r) => r.route), ['GET /gateway/bot']);
  assert.deepEqual(fake.violations, []);
});

test('commands are registered globally and per guild, keeping ids across overwrites', async (t) => {
  const { fake, login } = await harness(t);
  const client = await login();
  const commands = client.application?.commands;
  assert.ok(commands);

  const first = await commands.set([IMAGINE]);
  const again = await commands.set([IMAGINE, { name: 'settings', description: 'Server settings', default_member_permissions: '32' }]);
  await commands.set([{ name: 'debug', description: 'Guild only' }], fake.guild.id);

  assert.match(first.first()?.id ?? '', /^\d{17,19}$/);
  assert.equal(again.find((c) => c.name === 'imagine')?.id, first.first()?.id);
  assert.deepEqual(fake.commands().map((c) => [c.name, c.default_member_permissions]), [['imagine', null], ['settings', '32']]);
  assert.deepEqual(fake.commands(fake.guild).map((c) => c.name), ['debug']);
  assert.equal(fake.requestsTo('PUT /applications/:application/commands').length, 2);

  assert.equal(await codeOf(commands.set([{ name: 'Bad Name', description: 'x' }])), 50035);
  assert.deepEqual(fake.violations.map((v) => v.rule), ['invalid-form-body']);
});

test('a slash command is deferred, then answered with a PNG, an embed and a button', async (t) => {
  const { fake, login, onInteraction, botErrors } = await harness(t);
  const client = await login();
  await client.application?.commands.set([IMAGINE]);
  let returnedWidth: number | null | undefined;
  onInteraction(client, async (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    await interaction.deferReply();
    const source = interaction.options.getAttachment('image', true);
    const bytes = Buffer.from(await (await fetch(source.url)).arrayBuffer());
    const message = await interaction.editReply({
      content: `**${interaction.options.getString('prompt', true)}**`,
      files: [new AttachmentBuilder(bytes, { name: 'out.png' })],
      embeds: [new EmbedBuilder().setTitle('Seed 42').setImage('attachment://out.png')],
      components: [
        new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId('reroll:1').setLabel('Reroll').setStyle(ButtonStyle.Secondary),
        ),
      ],
    });
    returnedWidth = message.attachments.first()?.width;
  });

  const upload = fake.uploadAttachment(PNG, 'cat.png');
  const run = fake.sendCommand({ name: 'imagine', options: { prompt: 'a cat', image: upload } });
  const reply = await run.waitForOriginal((m) => m.attachments.length > 0);

  assert.deepEqual(botErrors, []);
  assert.equal(run.acknowledgement?.type, InteractionResponseType.DeferredChannelMessageWithSource);
  assert.ok((run.acknowledgement?.latencyMs ?? Infinity) < 3000);
  assert.equal(run.ephemeral, false);
  assert.equal(reply.content, '**a cat**');
  assert.equal(run.edits.length, 1);
  const [attachment] = reply.attachments;
  assert.ok(attachment);
  assert.deepEqual([attachment.filename, attachment.content_type, attachment.width, attachment.height], ['out.png', 'image/png', 3, 2]);
  assert.ok(attachment.bytes.equals(PNG), 'the uploaded bytes are stored intact');
  assert.equal(reply.embeds[0]?.image?.url, attachment.url);
  assert.deepEqual(reply.customIds, ['reroll:1']);
  await fake.waitFor(() => returnedWidth !== undefined, 2000, 'the bot to finish');
  assert.equal(returnedWidth, 3, 'discord.js got the full message back');
  assert.deepEqual(fake.messagesIn().map((m) => m.id), [reply.id]);
  assert.deepEqual(
    fake.requests.filter((r) => r.route === undefined).map((r) => r.path),
    [new URL(upload.url).pathname],
    'the only request outside the API is the download of the member’s upload',
  );
  assert.deepEqual(fake.violations, []);
});

test('an acknowledgement after 3 s gets 10062, and a late job’s token 50027', async (t) => {
  const { fake, login, onInteraction, botErrors } = await harness(t);
  const client = await login();
  const deferred = new Map<string, ChatInputCommandInteraction>();
  const lateCodes: (number | string)[] = [];
  onInteraction(client, async (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    const prompt = interaction.options.getString('prompt', true);
    if (prompt === 'late') return void lateCodes.push(await codeOf(interaction.deferReply()));
    await interaction.deferReply();
    deferred.set(prompt, interaction);
  });

  // The bot cannot answer before the next line runs: the interaction has yet to cross the socket.
  const late = fake.sendCommand({ name: 'imagine', options: { prompt: 'late' } });
  fake.clock.advance(3001);
  await fake.waitFor(() => lateCodes.length === 1, 2000, 'the bot to see its deferReply fail');
  assert.deepEqual(lateCodes, [10062]);
  assert.equal(late.acknowledgement, undefined);

  const slow = fake.sendCommand({ name: 'imagine', options: { prompt: 'an hour in the queue' } });
  const interaction = await fake.waitFor(() => deferred.get('an hour in the queue'), 2000, 'the bot to defer');
  fake.expireToken(slow);
  assert.equal(await codeOf(interaction.editReply('done')), 50027);

  assert.deepEqual(botErrors, []);
  assert.deepEqual(fake.violations.map((v) => v.rule), ['ack-deadline', 'token-expired']);
});

test('channels and members made while connected reach the client, and commands run there', async (t) => {
  const { fake, login, onInteraction } = await harness(t);
  const client = await login();
  const seen: { channel: string; nsfw: boolean | undefined; user: string }[] = [];
  onInteraction(client, async (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    const channel = interaction.channel as TextChannel;
    seen.push({ channel: channel.name, nsfw: channel.nsfw, user: interaction.user.username });
    await interaction.reply('ok');
  });

  const art = fake.createChannel({ name: 'nsfw-art', nsfw: true });
  const bob = fake.createMember({ username: 'bob' });
  await fake.waitFor(() => client.channels.cache.has(art.id), 2000, 'CHANNEL_CREATE');
  await fake.sendCommand({ name: 'imagine', channel: art, user: bob, options: { prompt: 'x' } }).waitForAck();
  await fake.waitFor(() => seen.length === 1, 2000);

  assert.deepEqual(seen, [{ channel: 'nsfw-art', nsfw: true, user: 'bob' }]);
  assert.deepEqual(fake.interactions.map((i) => [i.kind, i.channelId, i.user.id]), [['command', art.id, bob.user.id]]);
  assert.deepEqual(fake.violations, []);
});

test('privileged intents must be granted, and without Message Content members’ messages arrive empty', async (t) => {
  const { fake, login } = await harness(t, { privilegedIntents: 0 });
  const guildMessages = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages];
  await assert.rejects(login({ intents: [...guildMessages, GatewayIntentBits.MessageContent] }), /disallowed intents/i);
  assert.deepEqual(fake.violations.map((v) => v.rule), ['gateway']);

  const client = await login({ intents: guildMessages });
  const contents: string[] = [];
  client.on(Events.MessageCreate, (message) => contents.push(message.content));
  fake.postMessage({ content: 'a secret prompt' });
  await (client.channels.cache.get(fake.channel.id) as TextChannel).send('the bot’s own words');
  await fake.waitFor(() => contents.length === 2, 2000, 'two MESSAGE_CREATEs');

  assert.deepEqual(contents, ['', 'the bot’s own words']);
});

test('a reaction on a message from before the restart arrives through partials', async (t) => {
  const { fake, login } = await harness(t);
  const old = fake.postMessage({ author: fake.botMember(), content: 'an image from yesterday' });
  const client = await login({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions],
    partials: [Partials.Message, Partials.Channel, Partials.Reaction],
  });

  const event = once(client, Events.MessageReactionAdd, { signal: AbortSignal.timeout(2000) });
  fake.addReaction({ message: old, emoji: '🎲' });
  const [reaction, user] = (await event) as [MessageReaction | PartialMessageReaction, User | PartialUser];

  assert.equal(reaction.message.id, old.id);
  assert.equal(reaction.message.partial, true, 'nothing was cached');
  assert.equal(reaction.emoji.name, '🎲');
  assert.equal(user.id, fake.member.user.id);
  const fetched = await (client.channels.cache.get(fake.channel.id) as TextChannel).messages.fetch(old.id);
  assert.equal(fetched.content, 'an image from yesterday');
  await fetched.react('❌');
  assert.deepEqual([...(old.reactions.get('❌') ?? [])], [fake.bot.id]);
  assert.deepEqual(fake.violations, []);
});

test('reactions are not delivered without the GuildMessageReactions intent', async (t) => {
  const { fake, login } = await harness(t);
  const client = await login({ intents: [GatewayIntentBits.Guilds] });
  const seen: (string | undefined)[] = [];
  client.on(Events.Raw, (packet: { t?: string }) => seen.push(packet.t));

  fake.addReaction({ message: fake.postMessage({ content: 'hello' }), emoji: '🎲' });
  // Dispatches are ordered, so once the interaction is in, an earlier reaction would have been too.
  fake.sendCommand({ name: 'imagine', options: { prompt: 'marker' } });
  await fake.waitFor(() => seen.includes('INTERACTION_CREATE'), 2000);

  assert.ok(!seen.includes('MESSAGE_REACTION_ADD'), `got ${seen.join(', ')}`);
});

test('a button click carries the message and can update it', async (t) => {
  const { fake, login, onInteraction, botErrors } = await harness(t);
  const client = await login();
  const clickedMessages: string[] = [];
  onInteraction(client, async (interaction) => {
    if (interaction.isChatInputCommand()) {
      const button = new ButtonBuilder().setCustomId('reroll:7').setLabel('Reroll').setStyle(ButtonStyle.Primary);
      await interaction.reply({
        content: 'seed 7',
        files: [new AttachmentBuilder(PNG, { name: 'seed-7.png' })],
        components: [new ActionRowBuilder<ButtonBuilder>().addComponents(button)],
      });
    } else if (interaction.isButton()) {
      clickedMessages.push(interaction.message.id);
      await interaction.update({ content: `seed 8 (by ${interaction.user.username})`, components: [] });
    }
  });

  const reply = await fake.sendCommand({ name: 'imagine', options: { prompt: 'dice' } }).waitForOriginal();
  const click = fake.clickButton({ message: reply, customId: 'reroll:7' });
  await click.waitForOriginal((m) => m.content.startsWith('seed 8'));

  assert.deepEqual(botErrors, []);
  assert.deepEqual(clickedMessages, [reply.id]);
  assert.equal(click.acknowledgement?.type, InteractionResponseType.UpdateMessage);
  assert.equal(click.original, reply);
  assert.deepEqual([reply.content, reply.components.length, reply.edits.length], ['seed 8 (by alice)', 0, 1]);
  assert.ok(reply.attachments[0]?.bytes.equals(PNG), 'an update keeps the attachments it does not mention');
  assert.throws(() => fake.clickButton({ message: reply, customId: 'reroll:7' }), /no button/);
  assert.deepEqual(fake.violations, []);
});

test('autocomplete choices, modals and follow-ups are recorded', async (t) => {
  const { fake, login, onInteraction, botErrors } = await harness(t);
  const client = await login();
  onInteraction(client, async (interaction) => {
    if (interaction.isAutocomplete()) {
      await interaction.respond([{ name: `${interaction.options.getFocused()} cat`, value: 'cat' }]);
    } else if (interaction.isChatInputCommand() && interaction.commandName === 'edit') {
      await interaction.showModal({
        title: 'Edit prompt',
        custom_id: 'edit:1',
        components: [{ type: 1, components: [{ type: 4, custom_id: 'prompt', label: 'Prompt', style: 1 }] }],
      });
    } else if (interaction.isChatInputCommand()) {
      await interaction.deferReply({ flags: 'Ephemeral' });
      await interaction.followUp('first: fills the deferred message');
      await interaction.followUp('second: a new message');
    } else if (interaction.isModalSubmit()) {
      await interaction.reply(`prompt is now ${interaction.fields.getTextInputValue('prompt')}`);
    }
  });

  const complete = fake.sendAutocomplete({ name: 'imagine', options: { prompt: 'a' }, focused: 'prompt' });
  await complete.waitForAck();
  assert.deepEqual(complete.choices, [{ name: 'a cat', value: 'cat' }]);

  const edit = fake.sendCommand({ name: 'edit' });
  await edit.waitForAck();
  assert.equal(edit.modal?.custom_id, 'edit:1');
  const submit = fake.submitModal({ customId: 'edit:1', fields: { prompt: 'a dog' } });
  assert.equal((await submit.waitForOriginal()).content, 'prompt is now a dog');

  const run = fake.sendCommand({ name: 'imagine', options: { prompt: 'private' } });
  await run.waitForFollowUp();
  assert.equal(run.ephemeral, true);
  assert.equal(run.original?.content, 'first: fills the deferred message');
  assert.deepEqual(run.followUps.map((m) => m.content), ['second: a new message']);
  assert.ok(run.original?.ephemeral && !fake.messagesIn().includes(run.original), 'ephemeral messages stay out of the channel');
  assert.deepEqual(botErrors, []);
  assert.deepEqual(fake.violations, []);
});

test('an injected 429 is waited out and retried by discord.js, a 502 retried', async (t) => {
  const { fake, login, onInteraction, botErrors } = await harness(t);
  const client = await login();
  onInteraction(client, async (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    await interaction.deferReply();
    await interaction.editReply('done');
  });
  const limited = fake.injectFault({ method: 'PATCH', path: '/messages/@original', status: 429, retryAfter: 0.05 });
  const broken = fake.injectFault({ method: 'POST', path: '/callback', status: 502 });

  const run = fake.sendCommand({ name: 'imagine', options: { prompt: 'busy' } });
  await run.waitFor((handle) => handle.edits.length === 1, 2000, 'one edit');

  assert.deepEqual(botErrors, []);
  assert.deepEqual([limited.hits, broken.hits], [1, 1]);
  const edits = fake.requestsTo('PATCH /webhooks/:application/:token/messages/:message');
  assert.deepEqual(edits.map((r) => [r.status, r.fault]), [[429, true], [200, false]]);
  assert.ok((edits[1]?.at ?? 0) - (edits[0]?.at ?? 0) >= 50, 'discord.js waited retry_after');
  assert.deepEqual(fake.violations, []);
});

test('after a dropped gateway the client resumes and still receives interactions', async (t) => {
  const { fake, login, onInteraction } = await harness(t);
  const client = await login();
  onInteraction(client, async (interaction) => {
    if (interaction.isChatInputCommand()) await interaction.reply('still here');
  });
  const resumed = once(client, Events.ShardResume, { signal: AbortSignal.timeout(5000) });

  await fake.dropGateway();
  // Sent while disconnected: the fake keeps it for the RESUME replay, as Discord does.
  const run = fake.sendCommand({ name: 'imagine', options: { prompt: 'again' } });
  await resumed;
  await run.waitForOriginal();

  assert.equal(run.original?.content, 'still here');
  assert.deepEqual({ ...fake.gateway, heartbeats: 0 }, { connections: 2, identifies: 1, resumes: 1, connected: 1, heartbeats: 0 });
  assert.deepEqual(fake.violations, []);
});

test('a session that cannot be resumed gets op 9, and the client identifies again', async (t) => {
  const { fake, login, onInteraction } = await harness(t);
  const client = await login({ unthrottled: true });
  onInteraction(client, async (interaction) => {
    if (interaction.isChatInputCommand()) await interaction.reply('back');
  });
  const ready = once(client, Events.ShardReady, { signal: AbortSignal.timeout(5000) });

  await fake.dropGateway({ resumable: false });
  await ready;
  const run = fake.sendCommand({ name: 'imagine', options: { prompt: 'again' } });

  assert.equal((await run.waitForOriginal()).content, 'back');
  assert.deepEqual([fake.gateway.identifies, fake.gateway.resumes, fake.gateway.connected], [2, 0, 1]);
  assert.deepEqual(fake.violations, []);
});

test('a message deleted by a moderator is gone for the bot, without a violation', async (t) => {
  const { fake, login } = await harness(t);
  const client = await login({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages] });
  const channel = client.channels.cache.get(fake.channel.id) as TextChannel;
  const sent = await channel.send({ content: 'progress 10%', files: [new AttachmentBuilder(PNG, { name: 'preview.png' })] });
  const deleted = once(client, Events.MessageDelete, { signal: AbortSignal.timeout(2000) });

  const stored = fake.message(sent.id);
  assert.ok(stored);
  assert.ok(stored.attachments[0]?.bytes.equals(PNG));
  fake.deleteMessage(stored);
  await deleted;

  assert.equal(await codeOf(sent.edit('progress 20%')), 10008);
  assert.deepEqual(fake.messagesIn(), []);
  assert.deepEqual(fake.violations, []);
});

test('a create with an enforced nonce already used in the channel gets the first message, not a second one', async (t) => {
  const { fake, login } = await harness(t);
  const client = await login();
  const channel = client.channels.cache.get(fake.channel.id) as TextChannel;
  const first = await channel.send({ content: 'result', nonce: 'job-1 end', enforceNonce: true });
  const again = await channel.send({ content: 'result again', nonce: 'job-1 end', enforceNonce: true });
  const unenforced = await channel.send({ content: 'loose', nonce: 'job-1 end' });
  const other = await channel.send({ content: 'other', nonce: 'job-2 end', enforceNonce: true });

  assert.equal(again.id, first.id);
  assert.equal(again.content, 'result');
  assert.notEqual(unenforced.id, first.id);
  assert.deepEqual(fake.messagesIn().map((m) => m.content), ['result', 'loose', 'other']);
  assert.notEqual(other.id, first.id);
  assert.equal(await codeOf(channel.send({ content: 'x', nonce: 'n'.repeat(26), enforceNonce: true })), 50035);
  // Discord forgets nonces after a few minutes.
  fake.clock.advance(10 * 60_000);
  const later = await channel.send({ content: 'result later', nonce: 'job-1 end', enforceNonce: true });
  assert.notEqual(later.id, first.id);
  assert.deepEqual(fake.violations.map((v) => v.rule), ['invalid-form-body'], 'only the over-long nonce');
});

test('a held answer: the message exists before the bot hears of it, and the answer comes on release', async (t) => {
  const { fake, login } = await harness(t);
  const client = await login();
  const channel = client.channels.cache.get(fake.channel.id) as TextChannel;
  const hold = fake.holdAnswers({ method: 'POST', path: `/channels/${fake.channel.id}/messages` });
  let answered = false;
  const sending = channel.send('held').then((message) => {
    answered = true;
    return message;
  });

  const made = await fake.waitForMessage((message) => message.content === 'held');
  await fake.waitFor(() => hold.held.length === 1, 2000, 'the held request');
  assert.equal(answered, false);
  hold.release();
  assert.equal((await sending).id, made.id);
  assert.equal((await channel.send('not held')).content, 'not held');
  assert.deepEqual(hold.held, [`/api/v10/channels/${fake.channel.id}/messages`]);
});

test('permissions reach the bot as app_permissions and member permissions, and are enforced', async (t) => {
  const { fake, login, onInteraction } = await harness(t);
  const moderator = fake.createMember({ username: 'mod', permissions: DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageGuild });
  fake.setPermissions(fake.botMember(), DEFAULT_BOT_PERMISSIONS & ~PermissionFlagsBits.AttachFiles, { channel: fake.channel });
  const client = await login();
  const seen: { user: string; manageGuild: boolean | undefined; attach: boolean | undefined }[] = [];
  const sendCodes: (number | string)[] = [];
  onInteraction(client, async (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    seen.push({
      user: interaction.user.username,
      manageGuild: interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild),
      attach: interaction.appPermissions.has(PermissionFlagsBits.AttachFiles),
    });
    await interaction.reply({ content: 'ok', flags: 'Ephemeral' });
    const channel = interaction.channel as TextChannel;
    sendCodes.push(await codeOf(channel.send({ files: [new AttachmentBuilder(PNG, { name: 'x.png' })] })));
  });

  assert.equal(fake.permissionsOf(fake.botMember(), fake.channel) & PermissionFlagsBits.AttachFiles, 0n);
  await fake.sendCommand({ name: 'settings' }).waitForAck();
  await fake.sendCommand({ name: 'settings', user: moderator }).waitForAck();
  await fake.waitFor(() => sendCodes.length === 2, 2000);

  assert.deepEqual(seen, [
    { user: 'alice', manageGuild: false, attach: false },
    { user: 'mod', manageGuild: true, attach: false },
  ]);
  assert.deepEqual(sendCodes, [50013, 50013]);
  assert.deepEqual(fake.violations.map((v) => v.rule), ['missing-permissions', 'missing-permissions']);
});

test('Discord’s limits are enforced and recorded as violations', async (t) => {
  const { fake, login, onInteraction } = await harness(t, { attachmentSizeLimit: 64 });
  const client = await login();
  const codes = new Map<string, number | string>();
  const row = (customId: string): APIActionRowComponent<APIButtonComponent> => ({
    type: ComponentType.ActionRow,
    components: [{ type: ComponentType.Button, style: ButtonStyle.Primary, label: 'b', custom_id: customId }],
  });
  const misbehaviours: Record<string, (i: ChatInputCommandInteraction) => Promise<unknown>> = {
    content: (i) => i.reply('x'.repeat(2001)),
    embeds: (i) => i.reply({ embeds: Array.from({ length: 11 }, () => ({ title: 't' })) }),
    rows: (i) => i.reply({ components: Array.from({ length: 6 }, (_, n) => row(`b${n}`)) }),
    'custom-id': (i) => i.reply({ components: [row('x'.repeat(101))] }),
    file: (i) => i.reply({ files: [new AttachmentBuilder(PNG, { name: 'big.png' })] }),
    'double-ack': async (i) => {
      await i.deferReply();
      return client.rest.post(Routes.interactionCallback(i.id, i.token), { body: { type: 5 }, auth: false });
    },
    route: () => client.rest.get('/applications/1/entitlements'),
  };
  onInteraction(client, async (interaction) => {
    if (interaction.isAutocomplete()) {
      const choices = Array.from({ length: 26 }, (_, n) => ({ name: `c${n}`, value: `${n}` }));
      codes.set('choices', await codeOf(interaction.respond(choices)));
    } else if (interaction.isChatInputCommand()) {
      codes.set(interaction.commandName, await codeOf(misbehaviours[interaction.commandName]?.(interaction) ?? Promise.resolve()));
    }
  });

  for (const name of Object.keys(misbehaviours)) fake.sendCommand({ name });
  fake.sendAutocomplete({ name: 'imagine', options: { prompt: '' }, focused: 'prompt' });
  await fake.waitFor(() => codes.size === Object.keys(misbehaviours).length + 1, 4000, 'every misbehaviour to fail');

  assert.deepEqual(Object.fromEntries(codes), {
    content: 50035,
    embeds: 50035,
    rows: 50035,
    'custom-id': 50035,
    file: 40005,
    'double-ack': 40060,
    route: 0,
    choices: 50035,
  });
  assert.deepEqual(
    fake.violations.map((v) => v.rule).sort(),
    ['double-ack', 'file-too-large', ...Array<string>(5).fill('invalid-form-body'), 'unknown-route'],
  );
  const tooLong = fake.violations.find((v) => v.message.includes('data.content'));
  assert.match(tooLong?.message ?? '', /data\.content\[BASE_TYPE_MAX_LENGTH\]: Must be 2000 or fewer in length/);
});
