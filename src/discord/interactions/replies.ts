import { MessageFlags, type RepliableInteraction } from 'discord.js';

/**
 * Tells only the member why their request was not taken. After a public `deferReply` the placeholder is removed
 * first, so the channel is not left with a "thinking…" message.
 */
export async function replyPrivately(interaction: RepliableInteraction, content: string): Promise<void> {
  if (interaction.deferred || interaction.replied) {
    if (interaction.deferred && !interaction.ephemeral) await interaction.deleteReply().catch(() => undefined);
    await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
    return;
  }
  await interaction.reply({ content, flags: MessageFlags.Ephemeral });
}
