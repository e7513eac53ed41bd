import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { replyPrivately } from '../interactions/replies.js';
import { MAX_PARAMETERS_CHARS, pastedMaskSettings } from '../../jobs/pasted-parameters.js';
import { MAX_PROMPT_CHARS } from '../../jobs/prompt-text.js';
import { REGION_LABELS } from '../../generator/request.js';
import { MASK_REGIONS, type MaskRegion } from '../../pipeline/index.js';
import type { CommandContext, SlashCommand } from '../interactions/command.js';
import { admitWithImages, attachmentOption, imageJob } from '../interactions/image-command.js';
import { cfgOption, generationAutocomplete, generationOptions, modelOption, negativeOption, samplerOption, seedOption, stepsOption, strengthOption } from './generation-options.js';

const data = new SlashCommandBuilder()
  .setName('inpaint')
  .setDescription('Repaint part of a picture, keeping the rest exactly as it is')
  .addAttachmentOption((o) =>
    o.setName('image').setDescription('The picture (PNG, JPEG or WebP); its transparent pixels are repainted by default').setRequired(true),
  )
  .addStringOption((o) => o.setName('prompt').setDescription('What to paint there (or paste a picture\'s parameters)').setMaxLength(MAX_PROMPT_CHARS))
  .addStringOption((o) =>
    o
      .setName('parameters')
      .setDescription('Paste AUTOMATIC1111/Civitai parameters (prompt, Steps: …, Mask blur: …); options override')
      .setMaxLength(MAX_PARAMETERS_CHARS),
  )
  .addAttachmentOption((o) => o.setName('mask').setDescription('What to repaint: white = repaint, black = keep'))
  .addStringOption((o) =>
    o
      .setName('region')
      .setDescription('Or a part of the picture to repaint, without drawing a mask')
      .addChoices(...MASK_REGIONS.map((region) => ({ name: REGION_LABELS[region], value: region }))),
  )
  .addStringOption(modelOption)
  .addStringOption(negativeOption)
  .addNumberOption(strengthOption('How much to change the area (0.05–1, default 1 = paint it anew)'))
  .addStringOption(seedOption)
  .addIntegerOption(stepsOption)
  .addNumberOption(cfgOption)
  .addStringOption(samplerOption)
  .addIntegerOption((o) =>
    o.setName('mask_blur').setDescription("Soft edge where the repainted area meets the picture, in pixels (0–64)").setMinValue(0).setMaxValue(64),
  )
  .toJSON();

/** `/inpaint`: repaints the area of a picture given by a mask, a region or its transparency. */
export const inpaintCommand: SlashCommand = {
  data,
  async execute(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
    const image = attachmentOption(interaction, 'image');
    const region = interaction.options.getString('region') ?? undefined;
    if (!image) return replyPrivately(interaction, '`image` is required: upload the picture to repaint.');
    if (region !== undefined && !isMaskRegion(region)) {
      return replyPrivately(interaction, `\`region\` must be one of ${MASK_REGIONS.join(', ')}.`);
    }
    const parameters = interaction.options.get('parameters')?.value;
    const pasted = pastedMaskSettings(parameters);
    const spec = {
      image,
      mask: attachmentOption(interaction, 'mask'),
      region,
      blur: interaction.options.getInteger('mask_blur') ?? pasted?.maskBlur,
      onlyMasked: pasted?.onlyMasked ? { invert: pasted.invertMask ?? false } : undefined,
    };
    const job = imageJob('command', 'inpaint', { ...generationOptions(interaction), parameters }, context);
    await admitWithImages(interaction, context, job, (check) => context.inputs.forInpaint(spec, check));
  },
  autocomplete: generationAutocomplete,
};

function isMaskRegion(value: string): value is MaskRegion {
  return (MASK_REGIONS as readonly string[]).includes(value);
}
