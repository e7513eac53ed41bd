import { SlashCommandBuilder, type ChatInputCommandInteraction, type RepliableInteraction } from 'discord.js';
import { replyPrivately } from '../discord/replies.js';
import type { GenerationOptions } from '../jobs/build-request.js';
import type { JobOrigin } from '../jobs/job-record.js';
import { MAX_PROMPT_CHARS } from '../jobs/prompt-text.js';
import { escapeUnprintable } from '../jobs/shown-value.js';
import type { CommandContext, SlashCommand } from './command.js';
import { admitWithImages, attachmentOption } from './image-command.js';
import { cfgOption, generationOptions, negativeOption, samplerAutocomplete, samplerOption, seedOption, stepsOption, strengthOption } from './generation-options.js';

/** A job id as the footer of every result shows it. */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const data = new SlashCommandBuilder()
  .setName('variation')
  .setDescription('Rework a picture: one you upload, or an earlier result')
  .addAttachmentOption((o) => o.setName('image').setDescription('The picture to start from (PNG, JPEG or WebP)'))
  .addStringOption((o) => o.setName('job').setDescription('Or the id of an earlier result (in the footer of its message)').setMaxLength(64))
  .addIntegerOption((o) => o.setName('which').setDescription('Which picture of that job (1–4, default 1)').setMinValue(1).setMaxValue(4))
  .addStringOption((o) =>
    o.setName('prompt').setDescription("What to draw (needed for an upload; a job's own prompt by default)").setMaxLength(MAX_PROMPT_CHARS),
  )
  .addStringOption(negativeOption)
  .addNumberOption(strengthOption('How far to move from the picture (0.05–1, default 0.6; low = close to it)'))
  .addStringOption(seedOption)
  .addIntegerOption(stepsOption)
  .addNumberOption(cfgOption)
  .addStringOption(samplerOption)
  .addIntegerOption((o) => o.setName('count').setDescription('How many pictures (1–4)').setMinValue(1).setMaxValue(4))
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
      return admitWithImages(interaction, context, { via: 'command', kind: 'img2img', options }, () => context.inputs.fromUpload(image));
    }
    if (jobId) {
      const index = (interaction.options.getInteger('which') ?? 1) - 1;
      return admitJobVariation(interaction, context, 'command', { jobId, index }, options);
    }
  },
  autocomplete: samplerAutocomplete,
};

/**
 * Queues a variation of picture `index` (0-based) of job `jobId`, for `/variation job:` and the 🔀 button: a job of
 * another server is not found, whoever asks.
 */
export function admitJobVariation(
  interaction: RepliableInteraction,
  context: CommandContext,
  via: JobOrigin['via'],
  picture: { readonly jobId: string; readonly index: number },
  options: GenerationOptions,
): Promise<void> {
  return admitWithImages(interaction, context, { via, kind: 'img2img', options }, async () => {
    const record = await context.jobs.get(picture.jobId);
    if (!record || record.origin.guildId !== interaction.guildId) {
      return { ok: false, code: 'NOT_FOUND', message: `I can't find job \`${picture.jobId}\` on this server.` };
    }
    return context.inputs.fromJob(record, picture.index);
  });
}

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
