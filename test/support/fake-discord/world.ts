import { GatewayDispatchEvents, type APIOverwrite, type APIRole, type APIUser, type RoleFlags } from 'discord.js';
import { NO_FLAGS, apiChannel, apiGuildCreate, apiMember } from './api-objects.js';
import type { FakeClock } from './clock.js';
import { computePermissions, overwriteFor } from './permissions.js';
import type { Publish } from './publish.js';
import type { Snowflakes } from './snowflakes.js';

/** The bot's application. Its id is also the bot user's id, as for every application made since 2021. */
export interface FakeApplication {
  readonly id: string;
  readonly name: string;
  readonly flags: number;
}

/** A text channel of a guild. */
export interface FakeChannel {
  readonly id: string;
  readonly guildId: string;
  readonly name: string;
  /** Age-restricted: NSFW output may only go here. */
  readonly nsfw: boolean;
  readonly overwrites: readonly APIOverwrite[];
}

/**
 * A member of a guild. Each member (the bot too) gets a role of their own holding their permissions, and
 * @everyone holds none, so a member's permissions are exactly what the test gave them.
 */
export interface FakeMember {
  readonly guildId: string;
  readonly user: APIUser;
  readonly roleIds: readonly string[];
  readonly joinedAt: string;
}

/** A guild with its roles, channels and members. */
export interface FakeGuild {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  readonly joinedAt: string;
  readonly roles: ReadonlyMap<string, APIRole>;
  readonly channels: ReadonlyMap<string, FakeChannel>;
  readonly members: ReadonlyMap<string, FakeMember>;
}

interface GuildState extends FakeGuild {
  readonly roles: Map<string, APIRole>;
  readonly channels: Map<string, ChannelState>;
  readonly members: Map<string, FakeMember>;
}

interface ChannelState extends FakeChannel {
  overwrites: APIOverwrite[];
}

/** What the world needs from the rest of the fake. */
export interface WorldDeps {
  readonly ids: Snowflakes;
  readonly clock: FakeClock;
  readonly publish: Publish;
  readonly botPermissions: bigint;
}

/**
 * The fake's guilds, channels, members and roles. Changes made while a client is connected are dispatched to it
 * (GUILD_CREATE, CHANNEL_CREATE, …) so discord.js's caches agree with the fake.
 */
export class World {
  readonly application: FakeApplication;
  readonly bot: APIUser;
  readonly #guilds = new Map<string, GuildState>();
  readonly #deps: WorldDeps;

  constructor(deps: WorldDeps) {
    this.#deps = deps;
    const id = deps.ids.next();
    this.application = { id, name: 'Dreamcord Test', flags: 0 };
    this.bot = { ...this.#newUser('Dreamcord'), id, bot: true };
  }

  /** Every guild the bot is in. */
  get guilds(): readonly FakeGuild[] {
    return [...this.#guilds.values()];
  }

  /** Adds a guild with an owner and the bot as members and no channels. */
  createGuild(name: string): FakeGuild {
    const id = this.#deps.ids.next();
    const owner = this.#newUser(`${name} owner`);
    const guild: GuildState = {
      id,
      name,
      ownerId: owner.id,
      joinedAt: this.#deps.clock.iso(),
      roles: new Map([[id, this.#role(id, '@everyone', 0n, 0)]]),
      channels: new Map(),
      members: new Map(),
    };
    this.#guilds.set(id, guild);
    this.#addMember(guild, owner, 0n);
    this.#addMember(guild, this.bot, this.#deps.botPermissions);
    this.#deps.publish(GatewayDispatchEvents.GuildCreate, apiGuildCreate(guild));
    return guild;
  }

  /** Adds a text channel to `guild`. */
  createChannel(guild: FakeGuild, spec: { readonly name: string; readonly nsfw?: boolean }): FakeChannel {
    const channel: ChannelState = {
      id: this.#deps.ids.next(),
      guildId: guild.id,
      name: spec.name,
      nsfw: spec.nsfw ?? false,
      overwrites: [],
    };
    this.#guild(guild.id).channels.set(channel.id, channel);
    this.#deps.publish(GatewayDispatchEvents.ChannelCreate, apiChannel(channel));
    return channel;
  }

  /** Adds a human member to `guild` whose permissions are exactly `permissions`. */
  createMember(guild: FakeGuild, username: string, permissions: bigint): FakeMember {
    const state = this.#guild(guild.id);
    const member = this.#addMember(state, this.#newUser(username), permissions);
    const role = state.roles.get(member.roleIds[0] ?? '');
    if (role) this.#deps.publish(GatewayDispatchEvents.GuildRoleCreate, { guild_id: guild.id, role });
    this.#deps.publish(GatewayDispatchEvents.GuildMemberAdd, { guild_id: guild.id, ...apiMember(member) });
    return member;
  }

  /**
   * Gives `member` exactly `permissions`: guild-wide through their own role, or in one `channel` through a member
   * overwrite (how a server takes Attach Files away from the bot in one channel).
   */
  setPermissions(member: FakeMember, permissions: bigint, channel?: FakeChannel): void {
    const guild = this.#guild(member.guildId);
    if (channel) {
      const state = this.#channel(guild, channel.id);
      state.overwrites = state.overwrites.filter((o) => o.id !== member.user.id);
      const current = this.permissionsOf(member, state);
      state.overwrites.push(overwriteFor(member.user.id, current, permissions));
      this.#deps.publish(GatewayDispatchEvents.ChannelUpdate, apiChannel(state));
      return;
    }
    const roleId = member.roleIds[0] ?? '';
    const role = guild.roles.get(roleId);
    if (!role) throw new Error(`Member ${member.user.username} has no role of their own`);
    const updated = { ...role, permissions: permissions.toString() };
    guild.roles.set(roleId, updated);
    this.#deps.publish(GatewayDispatchEvents.GuildRoleUpdate, { guild_id: guild.id, role: updated });
  }

  /** What `member` may do, guild-wide or in `channel`. */
  permissionsOf(member: FakeMember, channel?: FakeChannel): bigint {
    const guild = this.#guild(member.guildId);
    return computePermissions({
      userId: member.user.id,
      isOwner: guild.ownerId === member.user.id,
      everyoneRoleId: guild.id,
      rolePermissions: new Map([...guild.roles].map(([id, role]) => [id, BigInt(role.permissions)])),
      memberRoleIds: member.roleIds,
      overwrites: channel?.overwrites ?? [],
    });
  }

  /** The guild with `id`, if the bot is in it. */
  findGuild(id: string): FakeGuild | undefined {
    return this.#guilds.get(id);
  }

  /** The user with `id`, a member of one of the bot's guilds. */
  findUser(id: string): APIUser | undefined {
    for (const guild of this.#guilds.values()) {
      const member = guild.members.get(id);
      if (member) return member.user;
    }
    return undefined;
  }

  /** The channel with `id`, in whichever guild. */
  findChannel(id: string): FakeChannel | undefined {
    for (const guild of this.#guilds.values()) {
      const channel = guild.channels.get(id);
      if (channel) return channel;
    }
    return undefined;
  }

  /** The bot's member object in `guildId`. */
  botMember(guildId: string): FakeMember {
    const member = this.#guild(guildId).members.get(this.bot.id);
    if (!member) throw new Error(`The bot is not a member of guild ${guildId}`);
    return member;
  }

  #guild(id: string): GuildState {
    const guild = this.#guilds.get(id);
    if (!guild) throw new Error(`Unknown guild ${id}`);
    return guild;
  }

  #channel(guild: GuildState, id: string): ChannelState {
    const channel = guild.channels.get(id);
    if (!channel) throw new Error(`Unknown channel ${id} in guild ${guild.id}`);
    return channel;
  }

  #addMember(guild: GuildState, user: APIUser, permissions: bigint): FakeMember {
    const role = this.#role(this.#deps.ids.next(), user.username, permissions, guild.roles.size);
    guild.roles.set(role.id, user.bot ? { ...role, managed: true, tags: { bot_id: user.id } } : role);
    const member: FakeMember = { guildId: guild.id, user, roleIds: [role.id], joinedAt: this.#deps.clock.iso() };
    guild.members.set(user.id, member);
    return member;
  }

  #newUser(username: string): APIUser {
    return { id: this.#deps.ids.next(), username, discriminator: '0', global_name: username, avatar: null };
  }

  #role(id: string, name: string, permissions: bigint, position: number): APIRole {
    return {
      id,
      name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      position,
      permissions: permissions.toString(),
      managed: false,
      mentionable: false,
      flags: NO_FLAGS as RoleFlags,
    };
  }
}
