import { OverwriteType, PermissionFlagsBits, type APIOverwrite } from 'discord.js';

const P = PermissionFlagsBits;

/** Every permission bit Discord knows. */
export const ALL_PERMISSIONS = Object.values(P).reduce((all, bit) => all | bit, 0n);

/** What an ordinary member of a test guild may do: talk, upload, react, use commands; no moderation. */
export const DEFAULT_MEMBER_PERMISSIONS =
  P.ViewChannel |
  P.SendMessages |
  P.EmbedLinks |
  P.AttachFiles |
  P.ReadMessageHistory |
  P.AddReactions |
  P.UseExternalEmojis |
  P.UseApplicationCommands;

/** What a typical bot invite grants an image bot: the member set plus managing its own and others' messages. */
export const DEFAULT_BOT_PERMISSIONS = DEFAULT_MEMBER_PERMISSIONS | P.ManageMessages;

/** What decides one member's permissions in one place: their roles, ownership, and the channel's overwrites. */
export interface PermissionInputs {
  readonly userId: string;
  readonly isOwner: boolean;
  /** The guild id, which is also the id of its @everyone role. */
  readonly everyoneRoleId: string;
  /** The permissions of @everyone and of each of the member's roles. */
  readonly rolePermissions: ReadonlyMap<string, bigint>;
  readonly memberRoleIds: readonly string[];
  /** The channel's overwrites; empty for guild-wide permissions. */
  readonly overwrites: readonly APIOverwrite[];
}

/** Discord's permission algorithm: roles, then @everyone, role and member overwrites of the channel. */
export function computePermissions(inputs: PermissionInputs): bigint {
  const roleIds = [inputs.everyoneRoleId, ...inputs.memberRoleIds];
  const base = roleIds.reduce((all, id) => all | (inputs.rolePermissions.get(id) ?? 0n), 0n);
  if (inputs.isOwner || (base & P.Administrator) !== 0n) return ALL_PERMISSIONS;

  const everyone = inputs.overwrites.filter((o) => o.id === inputs.everyoneRoleId);
  const roles = inputs.overwrites.filter((o) => o.type === OverwriteType.Role && inputs.memberRoleIds.includes(o.id));
  const member = inputs.overwrites.filter((o) => o.type === OverwriteType.Member && o.id === inputs.userId);
  // Each layer is applied as a whole (all its denies, then all its allows), as Discord does.
  return [everyone, roles, member].reduce((permissions, layer) => {
    const deny = layer.reduce((bits, o) => bits | BigInt(o.deny), 0n);
    const allow = layer.reduce((bits, o) => bits | BigInt(o.allow), 0n);
    return (permissions & ~deny) | allow;
  }, base);
}

/** The member overwrite that turns `current` channel permissions into exactly `wanted`. */
export function overwriteFor(userId: string, current: bigint, wanted: bigint): APIOverwrite {
  return {
    id: userId,
    type: OverwriteType.Member,
    allow: (wanted & ~current).toString(),
    deny: (current & ~wanted).toString(),
  };
}
