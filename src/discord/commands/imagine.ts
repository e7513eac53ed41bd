import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { ASPECT_RATIOS } from '../../config/index.js';
import { admitFromInteraction } from '../interactions/admission.js';
import { buildGenerationRequest } from '../../jobs/build-request.js';
import { UPSCALE_CHOICES } from '../../jobs/hires-request.js';
import { MAX_PARAMETERS_CHARS } from '../../jobs/pasted-parameters.js';
import { MAX_PROMPT_CHARS } from '../../jobs/prompt-text.js';
import type { CommandContext, SlashCommand } from '../interactions/command.js';
import {
  cfgOption,
  clipSkipOption,
  countOption,
  generationOptions,
  loraOption,
  negativeOption,
  generationAutocomplete,
  modelOption,
  samplerOption,
  seedOption,
  sideOption,
  stepsOption,
} from './generation-options.js';

const data = new SlashCommandBuilder()
  .setName('imagine')
  .setDescription('Generate images from a prompt')
  .addStringOption((o) =>
    o
      .setName('prompt')
      .setDescription('What to draw (AUTOMATIC1111 syntax: (word:1.2), [word], BREAK); or paste a picture\'s parameters')
      .setMaxLength(MAX_PROMPT_CHARS),
  )
  .addStringOption((o) =>
    o
      .setName('parameters')
      .setDescription('Remake: paste AUTOMATIC1111/Civitai parameters (prompt, Negative prompt, Steps: …); options override')
      .setMaxLength(MAX_PARAMETERS_CHARS),
  )
  .addStringOption(modelOption)
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
  .addIntegerOption(sideOption('width'))
  .addIntegerOption(sideOption('height'))
  .addIntegerOption(countOption('images'))
  .addIntegerOption(clipSkipOption)
  .addStringOption(loraOption)
  .addStringOption((o) =>
    o
      .setName('upscale')
      .setDescription('Hires fix: made at the size, then upscaled and redrawn at 1.5× or 2× (AUTOMATIC1111)')
      .addChoices(...Object.keys(UPSCALE_CHOICES).map((c) => ({ name: c, value: c }))),
  )
  .toJSON();

/** `/imagine`: text to image. */
export const imagineCommand: SlashCommand = {
  data,
  async execute(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
    const option = (name: string) => interaction.options.get(name)?.value;
    const options = {
      ...generationOptions(interaction),
      aspect: option('aspect'),
      width: option('width'),
      height: option('height'),
      upscale: option('upscale'),
      parameters: option('parameters'),
    };
    await admitFromInteraction(interaction, context, 'command', (settings, overridden) =>
      buildGenerationRequest('txt2img', options, settings, context.requestDefaults, overridden),
    );
  },
  autocomplete: generationAutocomplete,
};
