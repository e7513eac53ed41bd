import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIApplicationCommand, APIEmbed, APIMessageTopLevelComponent, APIPartialEmoji, APIUser } from 'discord.js';
import { addApplicationRoutes } from './application-routes.js';
import { contentTypeFor, createAttachment, type FakeAttachment } from './attachments.js';
import type { Backend } from './backend.js';
import { Cdn } from './cdn.js';
import { ChangeFeed } from './change-feed.js';
import { addChannelRoutes } from './channel-routes.js';
import { FakeClock } from './clock.js';
import { CommandRegistry } from './command-registry.js';
import { DirectMessages } from './direct-messages.js';
import type { FakeMessage } from './fake-message.js';
import type { Fault, FaultSpec } from './faults.js';
import type { Hold, HoldSpec } from './holds.js';
import { Gateway, type GatewayPresence, type GatewayStats } from './gateway.js';
import { addGuildRoutes } from './guild-routes.js';
import { HttpFrontend, type RecordedRequest } from './http-frontend.js';
import {
  InteractionDispatcher,
  type AutocompleteInvocation,
  type ButtonClick,
  type CommandInvocation,
  type ModalSubmission,
} from './interaction-dispatcher.js';
import { DEFAULT_WAIT_MS, type InteractionHandle } from './interaction-handle.js';
import { InteractionRegistry } from './interaction-registry.js';
import { addInteractionRoutes } from './interaction-routes.js';
import { PRIVILEGED_INTENTS } from './intents.js';
import { MessageStore } from './message-store.js';
import { DEFAULT_BOT_PERMISSIONS, DEFAULT_MEMBER_PERMISSIONS } from './permissions.js';
import { PublishRelay } from './publish.js';
import { Router } from './router.js';
import { Snowflakes } from './snowflakes.js';
import { ViolationLog, type Violation } from './violations.js';
import { addWebhookRoutes } from './webhook-routes.js';
import { World, type FakeApplication, type FakeChannel, type FakeGuild, type FakeMember } from './world.js';

/** How to start a fake Discord; every field is optional. */
export interface FakeDiscordOptions {
  /** The bot token the client must log in with. @default 'fake-bot-token' */
  readonly token?: string;
  /** The bot's guild-wide permissions. @default DEFAULT_BOT_PERMISSIONS (no Administrator) */
  readonly botPermissions?: bigint;
  /** The permissions of the default member `fake.member`. @default DEFAULT_MEMBER_PERMISSIONS (no Manage Server) */
  readonly memberPermissions?: bigint;
  /** Bytes per uploaded file, sent as `attachment_size_limit`. @default 10 MiB */
  readonly attachmentSizeLimit?: number;
  /** HELLO's heartbeat interval. @default 41250 */
  readonly heartbeatIntervalMs?: number;
  /** Privileged intents the application is granted (GatewayIntentBits). @default all three */
  readonly privilegedIntents?: number;
}

/** A member posting a message in a channel. */
export interface PostedMessage {
  readonly channel?: FakeChannel;
  /** @default fake.member; pass `fake.botMember` for a message the bot sent earlier (e.g. before a restart). */
  readonly author?: FakeMember;
  readonly content?: string;
  readonly embeds?: readonly APIEmbed[];
  readonly attachments?: readonly FakeAttachment[];
  /** Buttons and other components: with `author: fake.botMember()`, a bot message whose custom ids a test chooses. */
  readonly components?: readonly APIMessageTopLevelComponent[];
}

/** A member reacting to a message. */
export interface Reaction {
  readonly message: FakeMessage;
  /** A unicode emoji such as `'🎲'`, or a custom emoji. */
  readonly emoji: string | APIPartialEmoji;
  readonly user?: FakeMember;
}

const TEN_MIB = 10 * 1024 * 1024;

/**
 * A fake Discord on 127.0.0.1 for end-to-end tests: HTTP API, CDN and gateway that the unmodified discord.js client
 * talks to, an in-memory world (one application, guilds, channels, members, messages, commands), Discord's limits
 * enforced and recorded as violations, and helpers to act as members and wait for the bot's answers.
 *
 * @example
 * const fake = await FakeDiscord.start();
 * const client = new Client({ intents, rest: { api: fake.apiBase, cdn: fake.cdnBase } });
 * await client.login(fake.token);
 * const run = fake.sendCommand({ name: 'imagine', options: { prompt: 'a cat' } });
 * const reply = await run.waitForOriginal((m) => m.attachments.length > 0);
 */
export class FakeDiscord {
  /** The REST base for discord.js (`rest.api`), e.g. `http://127.0.0.1:1234/api`. */
  readonly apiBase: string;
  /** The CDN base for discord.js (`rest.cdn`). */
  readonly cdnBase: string;
  /** The bot token to log in with. */
  readonly token: string;
  /** The fake's clock: `clock.advance(ms)` makes deadlines pass without waiting. */
  readonly clock: FakeClock;
  /** The default guild, with channel `#general` and member `alice`. */
  readonly guild: FakeGuild;
  /** The default channel, where interactions happen unless told otherwise. */
  readonly channel: FakeChannel;
  /** The default member, who acts unless told otherwise. */
  readonly member: FakeMember;
  readonly #server: Server;
  readonly #backend: Backend;
  readonly #http: HttpFrontend;
  readonly #gateway: Gateway;
  readonly #dispatcher: InteractionDispatcher;

  private constructor(server: Server, port: number, options: FakeDiscordOptions) {
    const origin = `http://127.0.0.1:${port}`;
    this.apiBase = `${origin}/api`;
    this.cdnBase = `${origin}/cdn`;
    this.token = options.token ?? 'fake-bot-token';
    this.clock = new FakeClock();
    this.#server = server;

    const relay = new PublishRelay();
    const publish = relay.publish;
    const ids = new Snowflakes(this.clock);
    const changes = new ChangeFeed();
    const cdn = new Cdn(this.cdnBase);
    const world = new World({ ids, clock: this.clock, publish, botPermissions: options.botPermissions ?? DEFAULT_BOT_PERMISSIONS });
    this.#backend = {
      token: this.token,
      attachmentSizeLimit: options.attachmentSizeLimit ?? TEN_MIB,
      gatewayUrl: `ws://127.0.0.1:${port}/gateway`,
      clock: this.clock,
      ids,
      world,
      messages: new MessageStore({ ids, clock: this.clock, cdn, world, publish, changes }),
      directMessages: new DirectMessages({ ids, clock: this.clock, cdn, changes, findUser: (id) => world.findUser(id) }),
      commands: new CommandRegistry(ids, world.application.id),
      interactions: new InteractionRegistry(),
      cdn,
      changes,
      violations: new ViolationLog(() => this.clock.now(), () => changes.notify()),
    };
    this.guild = world.createGuild('Dreamcord Test');
    this.channel = world.createChannel(this.guild, { name: 'general' });
    this.member = world.createMember(this.guild, 'alice', options.memberPermissions ?? DEFAULT_MEMBER_PERMISSIONS);

    const router = new Router();
    for (const add of [addApplicationRoutes, addChannelRoutes, addGuildRoutes, addInteractionRoutes, addWebhookRoutes]) {
      add(router, this.#backend);
    }
    this.#http = new HttpFrontend(this.#backend, router);
    server.on('request', this.#http.listener);
    this.#gateway = new Gateway(server, this.#backend, {
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      privilegedIntents: options.privilegedIntents ?? PRIVILEGED_INTENTS,
    });
    relay.connect(this.#gateway.publish);
    this.#dispatcher = new InteractionDispatcher(this.#backend, publish, { channel: this.channel, member: this.member });
  }

  /** Starts a fake Discord on a free port of 127.0.0.1. */
  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new FakeDiscord(server, (server.address() as AddressInfo).port, options);
  }

  /** Closes the gateway connections and the HTTP server, leaving no open handles. */
  async stop(): Promise<void> {
    await this.#gateway.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.#server.close((error) => (error ? reject(error) : resolve())));
  }

  // ── The world ─────────────────────────────────────────────────────────────────────────────────────────────

  get application(): FakeApplication {
    return this.#backend.world.application;
  }

  /** The bot's user (its id is the application's). */
  get bot(): APIUser {
    return this.#backend.world.bot;
  }

  /** The bot's member object in `guild`. */
  botMember(guild: FakeGuild = this.guild): FakeMember {
    return this.#backend.world.botMember(guild.id);
  }

  /** Adds a guild (owner and bot as members, no channels); dispatched as GUILD_CREATE when connected. */
  createGuild(name: string): FakeGuild {
    return this.#backend.world.createGuild(name);
  }

  /** Adds a text channel; `nsfw` makes it age-restricted. */
  createChannel(spec: { readonly name: string; readonly nsfw?: boolean; readonly guild?: FakeGuild }): FakeChannel {
    return this.#backend.world.createChannel(spec.guild ?? this.guild, spec);
  }

  /** Adds a member whose permissions are exactly `permissions` (default: DEFAULT_MEMBER_PERMISSIONS). */
  createMember(spec: { readonly username: string; readonly permissions?: bigint; readonly guild?: FakeGuild }): FakeMember {
    return this.#backend.world.createMember(spec.guild ?? this.guild, spec.username, spec.permissions ?? DEFAULT_MEMBER_PERMISSIONS);
  }

  /**
   * Gives `member` (the bot too: `fake.botMember()`) exactly `permissions`, guild-wide or only in `channel`; this is
   * what `app_permissions` and `member.permissions` of later interactions carry.
   */
  setPermissions(member: FakeMember, permissions: bigint, options: { readonly channel?: FakeChannel } = {}): void {
    this.#backend.world.setPermissions(member, permissions, options.channel);
  }

  /** What `member` may do in `channel` (or guild-wide). */
  permissionsOf(member: FakeMember, channel?: FakeChannel): bigint {
    return this.#backend.world.permissionsOf(member, channel);
  }

  /** Commands registered globally, or in `guild`. */
  commands(guild?: FakeGuild): readonly APIApplicationCommand[] {
    return this.#backend.commands.list(guild ? { guildId: guild.id } : { global: true });
  }

  // ── Messages ─────────────────────────────────────────────────────────────────────────────────────────────

  /** A file a member uploads (as a command's attachment option, or in `postMessage`), served from the fake CDN. */
  uploadAttachment(bytes: Buffer | Uint8Array, filename: string, contentType?: string): FakeAttachment {
    const id = this.#backend.ids.next();
    const type = contentTypeFor(filename, contentType);
    const data = Buffer.from(bytes);
    const url = this.#backend.cdn.put(['ephemeral-attachments', this.application.id, id, filename], { bytes: data, contentType: type });
    return createAttachment({ id, filename, bytes: data, contentType: type, url, ephemeral: true });
  }

  /** A member (or, with `author: fake.botMember()`, the bot) posts a message; dispatched as MESSAGE_CREATE. */
  postMessage(spec: PostedMessage): FakeMessage {
    const channel = spec.channel ?? this.channel;
    const files = (spec.attachments ?? []).map((a, i) => ({ key: String(i), filename: a.filename, contentType: a.content_type ?? '', bytes: a.bytes }));
    const write = { content: spec.content ?? '', embeds: spec.embeds ?? [], components: spec.components ?? [], files };
    return this.#backend.messages.create({ channel, author: (spec.author ?? this.member).user, write });
  }

  /** Changes `attachment_size_limit` for later interactions and uploads to guild channels. */
  setAttachmentSizeLimit(bytes: number): void {
    this.#backend.attachmentSizeLimit = bytes;
  }

  /** `member` turns off "Allow direct messages from server members": the bot's DMs to them get 403 50007. */
  closeDirectMessages(member: FakeMember): void {
    this.#backend.directMessages.close(member.user.id);
  }

  /** The direct messages the bot sent `member`, oldest first. */
  directMessagesTo(member: FakeMember): FakeMessage[] {
    return this.#backend.directMessages.to(member.user.id);
  }

  /** The message with `id` (deleted and ephemeral ones included). */
  message(id: string): FakeMessage | undefined {
    return this.#backend.messages.find(id);
  }

  /** The visible messages of `channel`, oldest first. */
  messagesIn(channel: FakeChannel = this.channel): FakeMessage[] {
    return this.#backend.messages.inChannel(channel.id);
  }

  /** A moderator deletes `message`; the bot's later edits of it get 404 10008. */
  deleteMessage(message: FakeMessage): void {
    this.#backend.messages.delete(message);
  }

  // ── Acting as members ─────────────────────────────────────────────────────────────────────────────────────

  /** A member runs a slash command (INTERACTION_CREATE type 2). */
  sendCommand(spec: CommandInvocation): InteractionHandle {
    return this.#dispatcher.command(spec);
  }

  /** A member types into an autocomplete option (type 4); the bot's choices land in `handle.choices`. */
  sendAutocomplete(spec: AutocompleteInvocation): InteractionHandle {
    return this.#dispatcher.autocomplete(spec);
  }

  /** A member clicks a button of `message` (type 3). */
  clickButton(spec: ButtonClick): InteractionHandle {
    return this.#dispatcher.button(spec);
  }

  /** A member submits a modal (type 5). */
  submitModal(spec: ModalSubmission): InteractionHandle {
    return this.#dispatcher.modal(spec);
  }

  /** A member reacts to a message (MESSAGE_REACTION_ADD, delivered only with the GuildMessageReactions intent). */
  addReaction(spec: Reaction): void {
    const emoji = typeof spec.emoji === 'string' ? { id: null, name: spec.emoji } : spec.emoji;
    this.#backend.messages.react(spec.message, emoji, (spec.user ?? this.member).user, true);
  }

  /** Every interaction dispatched so far. */
  get interactions(): readonly InteractionHandle[] {
    return this.#backend.interactions.all;
  }

  /** Ages `interaction`'s token past 15 minutes: its next webhook call gets 401 50027, as for a job that ran late. */
  expireToken(interaction: InteractionHandle): void {
    interaction.expireToken();
  }

  // ── Observing and disturbing ─────────────────────────────────────────────────────────────────────────────

  /** Every HTTP request received, in arrival order. */
  get requests(): readonly RecordedRequest[] {
    return this.#http.requests;
  }

  /** The requests handled by `route`, e.g. `'PATCH /webhooks/:application/:token/messages/:message'`. */
  requestsTo(route: string): RecordedRequest[] {
    return this.#http.requests.filter((r) => r.route === route);
  }

  /** Every Discord rule the bot broke (and every request the fake could not serve); tests usually expect none. */
  get violations(): readonly Violation[] {
    return this.#backend.violations.all;
  }

  /** Connection, IDENTIFY and RESUME counts of the gateway. */
  get gateway(): GatewayStats {
    return this.#gateway.stats;
  }

  /** Every presence the bot set through the gateway (op 3), oldest first. */
  get presences(): readonly GatewayPresence[] {
    return this.#gateway.presences;
  }

  /** Makes matching requests fail with 429 (with `retry_after`), 500, 502 or 503; see `FaultSpec`. */
  injectFault(spec: FaultSpec): Fault {
    return this.#http.injectFault(spec);
  }

  /**
   * Carries out matching requests but answers them only on `release()`: the bot can be killed after Discord did
   * what it asked and before it heard so. See `HoldSpec`.
   */
  holdAnswers(spec: HoldSpec): Hold {
    return this.#http.holdAnswers(spec);
  }

  /** Drops the gateway connections; discord.js reconnects and RESUMEs (or identifies again when `resumable: false`). */
  dropGateway(options: { readonly resumable?: boolean } = {}): Promise<void> {
    return this.#gateway.drop(options);
  }

  /** Resolves with `probe()`'s first value other than `undefined` and `false`, re-checked whenever the fake changes. */
  waitFor<T>(probe: () => T | undefined | false, timeoutMs = DEFAULT_WAIT_MS, what = 'a condition'): Promise<T> {
    return this.#backend.changes.until(
      () => {
        const value = probe();
        return value === false ? undefined : value;
      },
      timeoutMs,
      () => what,
    );
  }

  /** Resolves with the first visible message of `channel` that satisfies `predicate`. */
  waitForMessage(predicate: (message: FakeMessage) => boolean, options: { readonly channel?: FakeChannel; readonly timeoutMs?: number } = {}): Promise<FakeMessage> {
    const channel = options.channel ?? this.channel;
    return this.waitFor(() => this.messagesIn(channel).find(predicate), options.timeoutMs, `a matching message in #${channel.name}`);
  }
}
