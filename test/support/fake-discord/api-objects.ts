import {
  ChannelType,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildSystemChannelFlags,
  GuildVerificationLevel,
  Locale,
  type GuildMemberFlags,
  type APIGuild,
  type APIGuildMember,
  type APITextChannel,
  type GatewayGuildCreateDispatchData,
} from 'discord.js';
import type { FakeChannel, FakeGuild, FakeMember } from './world.js';

// The world's records turned into the JSON Discord sends. discord.js caches what it is given, so the objects
// are complete: a missing field would show up as `undefined` in the bot rather than as an error here.

/** Flag bitfields with no flag set (the enums have no member for zero). */
export const NO_FLAGS = 0;

/** A guild text channel. */
export function apiChannel(channel: FakeChannel): APITextChannel {
  return {
    id: channel.id,
    type: ChannelType.GuildText,
    guild_id: channel.guildId,
    name: channel.name,
    nsfw: channel.nsfw,
    position: 0,
    permission_overwrites: [...channel.overwrites],
    parent_id: null,
    topic: null,
    last_message_id: null,
    rate_limit_per_user: 0,
  };
}

/** A guild member, as in GUILD_CREATE, interactions and reactions. */
export function apiMember(member: FakeMember): APIGuildMember {
  return {
    user: member.user,
    nick: null,
    avatar: null,
    banner: null,
    roles: [...member.roleIds],
    joined_at: member.joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: NO_FLAGS as GuildMemberFlags,
    pending: false,
    communication_disabled_until: null,
  };
}

/** A guild without the gateway-only extras (GET /guilds/{id}). */
export function apiGuild(guild: FakeGuild): APIGuild {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: guild.ownerId,
    region: 'rotterdam',
    afk_channel_id: null,
    afk_timeout: 300,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: GuildVerificationLevel.None,
    default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
    explicit_content_filter: GuildExplicitContentFilter.Disabled,
    roles: [...guild.roles.values()],
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: GuildMFALevel.None,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: GuildSystemChannelFlags.SuppressJoinNotifications,
    rules_channel_id: null,
    max_members: 500_000,
    vanity_url_code: null,
    premium_tier: GuildPremiumTier.None,
    premium_subscription_count: 0,
    preferred_locale: Locale.EnglishUS,
    public_updates_channel_id: null,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    nsfw_level: GuildNSFWLevel.Default,
    premium_progress_bar_enabled: false,
    safety_alerts_channel_id: null,
    hub_type: null,
    incidents_data: null,
  };
}

/** A guild with its channels and members, as GUILD_CREATE carries it after READY. */
export function apiGuildCreate(guild: FakeGuild): GatewayGuildCreateDispatchData {
  return {
    ...apiGuild(guild),
    joined_at: guild.joinedAt,
    large: false,
    unavailable: false,
    member_count: guild.members.size,
    members: [...guild.members.values()].map(apiMember),
    channels: [...guild.channels.values()].map(apiChannel),
    threads: [],
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
