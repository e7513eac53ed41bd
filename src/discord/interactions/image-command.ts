// What the commands that start from a picture (/variation, /inpaint, and the 🔀 button) share: reading their
// attachment options, taking a request whose pictures must be fetched before it can be built, and a variation of an
// earlier result.
import type { ChatInputCommandInteraction, RepliableInteraction } from 'discord.js';
import { admitFromInteraction } from './admission.js';
import { replyPrivately } from './replies.js';
import type { AttachmentRef } from '../../inputs/attachments.js';
import type { GenerationOptions } from '../../jobs/build-request.js';
import type { PreparedInputs, UploadCheck } from '../../inputs/image-inputs.js';
import { isAgeRestricted } from './age-restricted.js';
import { imageRequest } from '../../jobs/image-request.js';
import type { JobOrigin, JobRecord } from '../../jobs/job-record.js';
import type { RequestBuilder } from '../../jobs/admit.js';
import { outpaintRequest } from '../../jobs/outpaint-request.js';
import { pictureUpscaleRequest } from '../../jobs/upscale.js';
import type { Outpaint } from '../../inputs/outpaint.js';
import type { Result } from '../../refusal.js';
import type { CommandContext } from './command.js';

/** The attachment option `name` as Discord resolved it: its address comes from Discord, never from the member. */
export function attachmentOption(interaction: ChatInputCommandInteraction, name: string): AttachmentRef | undefined {
  const attachment = interaction.options.getAttachment(name);
  return attachment ? { option: name, url: attachment.url, size: attachment.size } : undefined;
}

/** What a request that starts from a picture is: how it was started, and the request it makes of its inputs. */
export interface ImageJob {
  readonly via: JobOrigin['via'];
  readonly request: (inputs: PreparedInputs) => RequestBuilder;
}

/** A `/variation` or `/inpaint` of `options`: the member's options checked against the server, at the working size. */
export function imageJob(via: JobOrigin['via'], kind: 'img2img' | 'inpaint', options: GenerationOptions, context: CommandContext): ImageJob {
  return { via, request: (inputs) => imageRequest(kind, options, inputs, context.requestDefaults) };
}

/**
 * Takes a request whose pictures must be fetched first: acknowledges at once (a download may take longer than the
 * 3 s Discord allows), prepares the inputs, then admits the request as `/imagine`'s are. A refusal at any point
 * reaches only the member.
 */
export async function admitWithImages(
  interaction: RepliableInteraction,
  context: CommandContext,
  job: ImageJob,
  prepare: (check: UploadCheck) => Promise<Result<{ inputs: PreparedInputs }>>,
): Promise<void> {
  await interaction.deferReply();
  const prepared = await prepare(uploadCheck(interaction, context));
  if (!prepared.ok) return replyPrivately(interaction, prepared.message);
  await admitFromInteraction(interaction, context, job.via, job.request(prepared.inputs));
}

/** Picture `index` (0-based) of job `jobId`. */
type JobPicture = { readonly jobId: string; readonly index: number };

/**
 * Queues a variation of a job's picture, for `/variation job:` and the 🔀 button: a job of another server is not
 * found, whoever asks.
 */
export function admitJobVariation(
  interaction: RepliableInteraction,
  context: CommandContext,
  via: JobOrigin['via'],
  picture: JobPicture,
  options: GenerationOptions,
): Promise<void> {
  return admitFromJobPicture(interaction, context, via, picture, (_record, inputs) => imageRequest('img2img', options, inputs, context.requestDefaults));
}

/** Queues ⬆️ Upscale of a picture made from another (variation, inpaint, zoom out, pan): see `pictureUpscaleRequest`. */
export function admitPictureUpscale(interaction: RepliableInteraction, context: CommandContext, picture: JobPicture): Promise<void> {
  return admitFromJobPicture(interaction, context, 'upscale-button', picture, (record, inputs) => pictureUpscaleRequest(record, picture.index, inputs));
}

/** Queues the request `build` makes of a job's delivered picture (its record, and the picture as a stored input). */
async function admitFromJobPicture(
  interaction: RepliableInteraction,
  context: CommandContext,
  via: JobOrigin['via'],
  picture: JobPicture,
  build: (record: JobRecord, inputs: PreparedInputs) => RequestBuilder,
): Promise<void> {
  await interaction.deferReply();
  const found = await findJob(interaction, context, picture.jobId);
  if (!found.ok) return replyPrivately(interaction, found.message);
  const prepared = await context.inputs.fromJob(found.record, picture.index);
  if (!prepared.ok) return replyPrivately(interaction, prepared.message);
  await admitFromInteraction(interaction, context, via, build(found.record, prepared.inputs));
}

/** Queues a zoom out or pan of picture `index` (0-based) of job `jobId`, within the server's `maxPixels`. */
export async function admitOutpaint(
  interaction: RepliableInteraction,
  context: CommandContext,
  picture: JobPicture,
  outpaint: Outpaint,
): Promise<void> {
  const { settings } = await context.settings.effective(interaction.guildId);
  const job: ImageJob = { via: 'outpaint-button', request: (inputs) => outpaintRequest(inputs, context.requestDefaults) };
  return admitWithImages(interaction, context, job, async () => {
    const record = await findJob(interaction, context, picture.jobId);
    return record.ok ? context.inputs.forOutpaint(record.record, picture.index, outpaint, settings.maxPixels) : record;
  });
}

/** Job `jobId` once delivered, if it is one of this server's. */
async function findJob(interaction: RepliableInteraction, context: CommandContext, jobId: string): Promise<Result<{ record: JobRecord }>> {
  const record = await context.jobs.delivered(jobId);
  if (!record || record.origin.guildId !== interaction.guildId) {
    return { ok: false, code: 'NOT_FOUND', message: `I can't find job \`${jobId}\` on this server.` };
  }
  return { ok: true, record };
}

/** The content policy's check of the member's uploads for `interaction`'s channel; every flagged one is audited. */
function uploadCheck(interaction: RepliableInteraction, context: CommandContext): UploadCheck {
  return async (image) => {
    const place = { guildId: interaction.guildId, ageRestricted: isAgeRestricted(interaction.channel) };
    const screening = await context.contentScreen.screenUpload(image, place);
    if (screening.flagged) {
      const action = screening.refused ? 'refuse-upload' : 'allow-upload';
      context.log.warn(
        { audit: 'content-policy', ...place, channelId: interaction.channelId, userId: interaction.user.id, action, ...screening },
        'content policy: uploaded picture flagged',
      );
    }
    if (!screening.refused) return { ok: true };
    const why = screening.score === null ? 'could not be checked by the content filter' : "was flagged by this server's content filter";
    return { ok: false, code: 'BLOCKED', message: `This picture ${why}, so I can't start from it here.` };
  };
}
