import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { ASPECT_RATIOS } from '../config/index.js';
import { MAX_PROMPT_CHARS } from '../jobs/prompt-text.js';
import { suggestSamplers } from '../pipeline/schedulers/names.js';
import type { CommandContext, SlashCommand } from './command.js';
import { admitFromInteraction } from '../discord/admission.js';
import { buildGenerationRequest } from '../jobs/build-request.js';

const data = new SlashCommandBuilder()
  .setName('imagine')
  .setDescription('Generate images from a prompt')
  .addStringOption((o) => o.setName('prompt').setDescription('What to draw (AUTOMATIC1111 syntax: (word:1.2), [word], BREAK)').setRequired(true).setMaxLength(MAX_PROMPT_CHARS))
  .addStringOption((o) => o.setName('negative').setDescription('What to avoid').setMaxLength(MAX_PROMPT_CHARS))
  .addStringOption((o) => o.setName('seed').setDescription('Seed (0 to 18446744073709551615; -1 or empty = random)').setMaxLength(24))
  .addIntegerOption((o) => o.setName('steps').setDescription('Denoising steps').setMinValue(1).setMaxValue(150))
  .addNumberOption((o) => o.setName('cfg').setDescription('Guidance scale (how closely to follow the prompt)').setMinValue(0).setMaxValue(30))
  .addStringOption((o) => o.setName('sampler').setDescription('Sampler, e.g. "DPM++ 2M Karras" or "Euler a"').setAutocomplete(true))
  .addStringOption((o) =>
    o.setName('aspect').setDescription('Aspect ratio at the model\'s native size').addChoices(...ASPECT_RATIOS.map((a) => ({ name: a, value: a }))),
  )
  .addIntegerOption((o) => o.setName('width').setDescription('Width in pixels (multiple of 8; overrides aspect)').setMinValue(64).setMaxValue(2048))
  .addIntegerOption((o) => o.setName('height').setDescription('Height in pixels (multiple of 8; overrides aspect)').setMinValue(64).setMaxValue(2048))
  .addIntegerOption((o) => o.setName('count').setDescription('How many images (1–4)').setMinValue(1).setMaxValue(4))
  .toJSON();

/** `/imagine`: text to image. */
export const imagineCommand: SlashCommand = {
  data,
  async execute(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
    const option = (name: string) => interaction.options.get(name)?.value;
    const options = {
      prompt: option('prompt'),
      negative: option('negative'),
      seed: option('seed'),
      steps: option('steps'),
      cfg: option('cfg'),
      sampler: option('sampler'),
      aspect: option('aspect'),
      width: option('width'),
      height: option('height'),
      count: option('count'),
    };
    const model = { nativeSize: context.jobs.generator.nativeSize };
    await admitFromInteraction(interaction, context, 'command', (settings) =>
      buildGenerationRequest('txt2img', options, settings, model),
    );
  },
  async autocomplete(interaction) {
    const focused = interaction.options.getFocused(true);
    const choices = focused.name === 'sampler' ? suggestSamplers(String(focused.value)) : [];
    await interaction.respond(choices.map((c) => ({ name: c.name, value: c.value })));
  },
};
