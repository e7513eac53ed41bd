import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { ASPECT_RATIOS } from '../../config/index.js';
import { admitFromInteraction } from '../interactions/admission.js';
import { attachmentOption } from '../interactions/image-command.js';
import { replyPrivately } from '../interactions/replies.js';
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
  .addAttachmentOption((o) =>
    o.setName('remake').setDescription('Remake a picture: a PNG that carries AUTOMATIC1111 parameters (as `parameters`; options override)'),
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

/** `/imagine`: text to image; with `parameters` or `remake`, a remake of an AUTOMATIC1111 picture. */
export const imagineCommand: SlashCommand = {
  data,
  async execute(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
    const option = (name: string) => interaction.options.get(name)?.value;
    const parameters = await remakeParameters(interaction, context, option('parameters'));
    if (parameters === null) return;
    const options = {
      ...generationOptions(interaction),
      aspect: option('aspect'),
      width: option('width'),
      height: option('height'),
      upscale: option('upscale'),
      parameters,
    };
    await admitFromInteraction(interaction, context, 'command', (settings, overridden) =>
      buildGenerationRequest('txt2img', options, settings, context.requestDefaults, overridden),
    );
  },
  autocomplete: generationAutocomplete,
};

/**
 * The pasted parameters block, or the one the `remake` PNG carries (downloaded after acknowledging, since that may
 * take longer than Discord's 3 s); null when the member was told why there is none to use.
 */
async function remakeParameters(interaction: ChatInputCommandInteraction, context: CommandContext, pasted: unknown): Promise<unknown> {
  const remake = attachmentOption(interaction, 'remake');
  if (!remake) return pasted;
  if (pasted !== undefined && pasted !== null && pasted !== '') {
    await replyPrivately(interaction, 'Give `parameters` or a `remake` picture, not both.');
    return null;
  }
  await interaction.deferReply();
  const read = await context.inputs.parametersOf(remake);
  if (read.ok) return read.parameters;
  await replyPrivately(interaction, read.message);
  return null;
}
