import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { ASPECT_RATIOS } from '../../config/index.js';
import { admitFromInteraction } from '../interactions/admission.js';
import { buildGenerationRequest } from '../../jobs/build-request.js';
import { MAX_PROMPT_CHARS } from '../../jobs/prompt-text.js';
import type { CommandContext, SlashCommand } from '../interactions/command.js';
import {
  cfgOption,
  generationOptions,
  negativeOption,
  samplerAutocomplete,
  samplerOption,
  seedOption,
  stepsOption,
} from './generation-options.js';

const data = new SlashCommandBuilder()
  .setName('imagine')
  .setDescription('Generate images from a prompt')
  .addStringOption((o) =>
    o
      .setName('prompt')
      .setDescription('What to draw (AUTOMATIC1111 syntax: (word:1.2), [word], BREAK)')
      .setRequired(true)
      .setMaxLength(MAX_PROMPT_CHARS),
  )
  .addStringOption(negativeOption)
  .addStringOption(seedOption)
  .addIntegerOption(stepsOption)
  .addNumberOption(cfgOption)
  .addStringOption(samplerOption)
  .addStringOption((o) =>
    o
      .setName('aspect')
      .setDescription("Aspect ratio at the model's native size")
      .addChoices(...ASPECT_RATIOS.map((a) => ({ name: a, value: a }))),
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
    const options = { ...generationOptions(interaction), aspect: option('aspect'), width: option('width'), height: option('height') };
    const model = { nativeSize: context.jobs.generator.nativeSize };
    await admitFromInteraction(interaction, context, 'command', (settings) =>
      buildGenerationRequest('txt2img', options, settings, model),
    );
  },
  autocomplete: samplerAutocomplete,
};
