import {
  EmbedBuilder,
  escapeMarkdown,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  SlashCommandBuilder,
} from 'discord.js';
import { parseSettingKey, suggestSettingKeys } from '../../settings/find-key.js';
import { knownModel } from '../../jobs/model-choice.js';
import { refusalOf, type Result } from '../../refusal.js';
import { formatValue } from './setting-text.js';
import { SETTING_KEYS, type GuildSettings, type SettingGroup, type SettingKey, type SettingValue } from '../../settings/keys.js';
import type { SettingRow, SettingsOverview } from '../../settings/settings-service.js';
import type { AuditEntry } from '../../settings/settings-store.js';
import type { CommandContext, SlashCommand } from '../interactions/command.js';

const CONTENT_FILTER_UNAVAILABLE =
  '⚠️ Content filter unavailable: the classifier could not load (see the log), so every result counts as flagged and ' +
  'results outside age-restricted channels are withheld.';
const NOT_MODERATOR = "Only members with Manage Server can change dreamcord's settings.";
const GROUPS: readonly SettingGroup[] = ['Defaults', 'Per model family', 'Limits', 'Channels & words', 'Behaviour', 'Content policy'];
/** Longest value shown in a line; keeps each embed field under Discord's 1,024 characters. */
const VALUE_CHARS = 80;
/** How many changes `/config history` lists. */
const HISTORY_SHOWN = 10;

const data = new SlashCommandBuilder()
  .setName('config')
  .setDescription("Show or change dreamcord's settings for this server (Manage Server)")
  // Discord hides the command from other members; `execute` checks again, as server admins can override this.
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((s) => s.setName('show').setDescription('The settings in force here, each marked default or set'))
  .addSubcommand((s) =>
    s
      .setName('set')
      .setDescription('Change one setting')
      .addStringOption((o) => o.setName('key').setDescription('The setting').setRequired(true).setAutocomplete(true))
      .addStringOption((o) =>
        o.setName('value').setDescription('The new value (lists comma-separated; none or all for an empty list)').setRequired(true),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('reset')
      .setDescription('Put one setting, or all of them, back to the default')
      .addStringOption((o) => o.setName('key').setDescription('The setting (leave out to reset all)').setAutocomplete(true)),
  )
  .addSubcommand((s) => s.setName('history').setDescription('The last changes: who, when, old → new'))
  .toJSON();

/** `/config`: moderators show, set and reset this server's settings and read their history. Every reply is ephemeral. */
export const configCommand: SlashCommand = {
  data,
  async execute(interaction, context) {
    const reply = async (body: { content?: string; embeds?: EmbedBuilder[] }): Promise<void> => {
      await interaction.reply({ ...body, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    };
    if (!interaction.inGuild()) return reply({ content: 'Settings belong to a server: use `/config` in one.' });
    if (!interaction.memberPermissions.has(PermissionFlagsBits.ManageGuild)) return reply({ content: NOT_MODERATOR });
    const service = context.settingsService;
    const { guildId, options } = interaction;
    const by = { userId: interaction.user.id, userName: interaction.user.username };
    const subcommand = options.getSubcommand(true);
    switch (subcommand) {
      case 'show': {
        // Never silent: moderators must know their content policy is blocking everything it cannot check.
        const warning = context.contentScreen.available ? {} : { content: CONTENT_FILTER_UNAVAILABLE };
        return reply({ ...warning, embeds: [overviewEmbed(await service.show(guildId))] });
      }
      case 'set': {
        const key = options.getString('key', true);
        const value = settingValue(key, options.getString('value', true), context);
        if (!value.ok) return reply({ content: value.message });
        const result = await service.set(guildId, key, value.value, by);
        if (!result.ok) return reply({ content: result.message });
        return reply({ content: [changeLine(result.change), result.notice].filter(Boolean).join('\n') });
      }
      case 'reset': {
        const result = await service.reset(guildId, options.getString('key') ?? undefined, by);
        if (!result.ok) return reply({ content: result.message });
        if (result.changes.length === 0) return reply({ content: alreadyDefault(result.key, context.settings.defaults) });
        return reply({ embeds: [listEmbed('Back to the defaults', result.changes.map(changeLine))] });
      }
      case 'history': {
        const changes = await service.history(guildId, HISTORY_SHOWN);
        if (changes.length === 0) return reply({ content: 'No setting has been changed on this server yet.' });
        return reply({ embeds: [listEmbed('Last changes', changes.map(historyLine))] });
      }
      default:
        throw new Error(`/config has no subcommand "${subcommand}".`);
    }
  },
  async autocomplete(interaction) {
    if (!interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return interaction.respond([]);
    const choices = suggestSettingKeys(interaction.options.getFocused()).map((key) => ({
      name: truncate(`${key} — ${SETTING_KEYS[key].describe}`, 100),
      value: key,
    }));
    await interaction.respond(choices);
  },
};

/**
 * The value to store for `key`: a model is checked against the bot's models (a typo refused with the close names)
 * and stored under its own name; every other value as typed (the settings service checks it).
 */
function settingValue(key: string, value: string, context: CommandContext): Result<{ value: string }> {
  const parsed = parseSettingKey(key);
  if (!parsed.ok || parsed.key !== 'model' || value.trim().toLowerCase() === 'none') return { ok: true, value };
  try {
    return { ok: true, value: knownModel(value.trim(), context.requestDefaults.models()).name };
  } catch (error) {
    return refusalOf(error);
  }
}

/** The settings grouped into one embed field per group, each value marked `default` or **set**. */
function overviewEmbed(overview: SettingsOverview): EmbedBuilder {
  return new EmbedBuilder()
    .setTitle('dreamcord settings for this server')
    .setDescription('`default` comes from the bot\'s configuration, **set** was chosen here. Change one with `/config set`.')
    .addFields(
      GROUPS.map((group) => ({
        name: group,
        value: overview.rows.filter((row) => row.group === group).map(rowLine).join('\n'),
      })),
    )
    .setFooter({ text: `Revision ${overview.revision}` });
}

function rowLine(row: SettingRow): string {
  const source = row.source === 'set' ? '**set**' : 'default';
  const capped = row.cappedBy ? ` (capped by \`${row.cappedBy}\`)` : '';
  return `\`${row.key}\` ${shown(row.key, row.value)} · ${source}${capped}`;
}

/** "`maxSteps`: 50 → 20". */
function changeLine(entry: AuditEntry): string {
  return `\`${entry.key}\`: ${shown(entry.key, entry.old)} → ${shown(entry.key, entry.new)}`;
}

/** "<t:…:R> <@…> `maxSteps`: 50 → 20", with "(reset)" for a reset. */
function historyLine(entry: AuditEntry): string {
  const when = `<t:${Math.floor(entry.at / 1000)}:R>`;
  return `${when} <@${entry.userId}> ${changeLine(entry)}${entry.action === 'reset' ? ' (reset)' : ''}`;
}

function alreadyDefault(key: SettingKey | undefined, defaults: GuildSettings): string {
  if (key === undefined) return 'Every setting already uses the default.';
  return `\`${key}\` already uses the default: ${shown(key, defaults[key])}.`;
}

function listEmbed(title: string, lines: readonly string[]): EmbedBuilder {
  return new EmbedBuilder().setTitle(title).setDescription(truncate(lines.join('\n'), 4096));
}

/** A value for a Discord message: formatted, shortened, and with markdown escaped (sampler ids contain `_`). */
function shown(key: SettingKey, value: SettingValue): string {
  return escapeMarkdown(truncate(formatValue(key, value), VALUE_CHARS));
}

/** `text` cut to at most `max` characters, at a space when there is one, with "…" at the end. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const space = text.lastIndexOf(' ', max - 1);
  return `${text.slice(0, space > max / 2 ? space : max - 1)}…`;
}
