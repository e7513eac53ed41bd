import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { MAX_IMAGES_PER_JOB } from '../../config/index.js';
import { replyPrivately } from '../interactions/replies.js';
import type { GenerationOptions } from '../../jobs/build-request.js';
import { MAX_PROMPT_CHARS } from '../../jobs/prompt-text.js';
import type { CommandContext, SlashCommand } from '../interactions/command.js';
import { admitJobVariation, admitWithImages, attachmentOption, imageJob } from '../interactions/image-command.js';
import { cfgOption, countOption, generationAutocomplete, generationOptions, modelOption, negativeOption, samplerOption, seedOption, stepsOption, strengthOption } from './generation-options.js';
import { escapeUnprintable } from '../../shown-value.js';

/** A job id as the footer of every result shows it. */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const data = new SlashCommandBuilder()
  .setName('variation')
  .setDescription('Rework a picture: one you upload, or an earlier result')
  .addAttachmentOption((o) => o.setName('image').setDescription('The picture to start from (PNG, JPEG or WebP)'))
  .addStringOption((o) => o.setName('job').setDescription('Or the id of an earlier result (in the footer of its message)').setMaxLength(64))
  .addIntegerOption((o) =>
    o.setName('which').setDescription(`Which picture of that job (1–${MAX_IMAGES_PER_JOB}, default 1)`).setMinValue(1).setMaxValue(MAX_IMAGES_PER_JOB),
  )
  .addStringOption((o) =>
    o.setName('prompt').setDescription("What to draw (needed for an upload; a job's own prompt by default)").setMaxLength(MAX_PROMPT_CHARS),
  )
  .addStringOption(modelOption)
  .addStringOption(negativeOption)
  .addNumberOption(strengthOption('How far to move from the picture (0.05–1, default 0.6; low = close to it)'))
  .addStringOption(seedOption)
  .addIntegerOption(stepsOption)
  .addNumberOption(cfgOption)
  .addStringOption(samplerOption)
  .addIntegerOption(countOption('pictures'))
  .toJSON();

/** `/variation`: image to image, from an upload or from an earlier result. */
export const variationCommand: SlashCommand = {
  data,
  async execute(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
    const image = attachmentOption(interaction, 'image');
    const jobId = interaction.options.getString('job')?.trim().toLowerCase();
    const options = generationOptions(interaction);
    const problem = optionProblem(image !== undefined, jobId, options);
    if (problem) return replyPrivately(interaction, problem);
    if (image) {
      return admitWithImages(interaction, context, imageJob('command', 'img2img', options, context), (check) => context.inputs.fromUpload(image, check));
    }
    if (jobId) {
      const index = (interaction.options.getInteger('which') ?? 1) - 1;
      return admitJobVariation(interaction, context, 'command', { jobId, index }, options);
    }
  },
  autocomplete: generationAutocomplete,
};

/** What is wrong with the choice of source and prompt, checked before anything is downloaded. */
function optionProblem(hasImage: boolean, jobId: string | undefined, options: GenerationOptions): string | undefined {
  if (hasImage && jobId) return 'Give either an `image` or a `job`, not both.';
  if (!hasImage && !jobId) {
    return 'Give the picture to start from: upload an `image`, or give the `job` id of an earlier result (in the footer of its message).';
  }
  if (jobId !== undefined && !JOB_ID.test(jobId)) {
    return `\`job\` must be a job id such as \`1b4e28ba-2fa1-41d2-883f-0016d3cca427\` (in the footer of every result), got \`${escapeUnprintable(jobId.slice(0, 64).replace(/`/g, "'"))}\`.`;
  }
  if (hasImage && (options.prompt === undefined || options.prompt === null)) {
    return '`prompt` is needed for an uploaded picture (a variation of a `job` uses that job\'s prompt).';
  }
  return undefined;
}
