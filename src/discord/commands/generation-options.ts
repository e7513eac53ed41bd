// The generation options every generating command shares (/imagine, /variation, /inpaint), defined once.
import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  SlashCommandIntegerOption,
  SlashCommandNumberOption,
  SlashCommandStringOption,
} from 'discord.js';
import { MAX_IMAGES_PER_JOB } from '../../config/index.js';
import type { GenerationOptions, LoraChoice } from '../../jobs/build-request.js';
import type { ServedModel } from '../../generator/generator.js';
import type { CommandContext } from '../interactions/command.js';
import { MAX_PROMPT_CHARS } from '../../jobs/prompt-text.js';
import { MAX_SEED, REQUEST_LIMITS, suggestSamplers } from '../../pipeline/index.js';

// Every bound comes from the pipeline's request contract (`REQUEST_LIMITS`), so Discord's own checks agree with it.
const { steps: STEPS, cfg: CFG, size: SIZE, strength: STRENGTH, clipSkip: CLIP_SKIP } = REQUEST_LIMITS;

export const negativeOption = (o: SlashCommandStringOption) =>
  o.setName('negative').setDescription('What to avoid').setMaxLength(MAX_PROMPT_CHARS);
export const seedOption = (o: SlashCommandStringOption) =>
  o.setName('seed').setDescription(`Seed (0 to ${MAX_SEED}; -1 or empty = random)`).setMaxLength(24);
export const stepsOption = (o: SlashCommandIntegerOption) =>
  o.setName('steps').setDescription('Denoising steps').setMinValue(STEPS.min).setMaxValue(STEPS.max);
export const cfgOption = (o: SlashCommandNumberOption) =>
  o.setName('cfg').setDescription('Guidance scale (how closely to follow the prompt)').setMinValue(CFG.min).setMaxValue(CFG.max);

/** `width` or `height` (`name`), which override the aspect ratio. */
export function sideOption(name: 'width' | 'height') {
  const description = `${name === 'width' ? 'Width' : 'Height'} in pixels (multiple of ${SIZE.multiple}; overrides aspect)`;
  return (o: SlashCommandIntegerOption) => o.setName(name).setDescription(description).setMinValue(SIZE.min).setMaxValue(SIZE.max);
}

/** `count`: how many `things` one job makes. */
export function countOption(things: string) {
  return (o: SlashCommandIntegerOption) =>
    o.setName('count').setDescription(`How many ${things} (1–${MAX_IMAGES_PER_JOB})`).setMinValue(1).setMaxValue(MAX_IMAGES_PER_JOB);
}
export const clipSkipOption = (o: SlashCommandIntegerOption) =>
  o
    .setName('clip_skip')
    .setDescription('Text encoder layers to skip from the end (AUTOMATIC1111; 2 suits anime models)')
    .setMinValue(CLIP_SKIP.min)
    .setMaxValue(CLIP_SKIP.max);
/** Discord's limits on an autocomplete answer: 25 choices, names of at most 100 characters. */
const MAX_CHOICES = 25;
const CHOICE_NAME_CHARS = 100;

export const loraOption = (o: SlashCommandStringOption) =>
  o.setName('lora').setDescription('A LoRA: adds its trigger words and <lora:name:weight> to the prompt').setAutocomplete(true).setMaxLength(100);
export const modelOption = (o: SlashCommandStringOption) =>
  o.setName('model').setDescription("The model to draw with (the server's default when left out)").setAutocomplete(true).setMaxLength(200);
export const samplerOption = (o: SlashCommandStringOption) =>
  o.setName('sampler').setDescription('Sampler, e.g. "DPM++ 2M Karras" or "Euler a"').setAutocomplete(true);

/** The `strength` option, whose default and meaning differ between the commands. */
export function strengthOption(description: string) {
  return (o: SlashCommandNumberOption) => o.setName('strength').setDescription(description).setMinValue(0.05).setMaxValue(STRENGTH.max);
}

/** The generation options a member typed, unchecked (`buildGenerationRequest` checks them). */
export function generationOptions(interaction: ChatInputCommandInteraction): GenerationOptions {
  const option = (name: string) => interaction.options.get(name)?.value;
  return {
    prompt: option('prompt'),
    negative: option('negative'),
    seed: option('seed'),
    steps: option('steps'),
    cfg: option('cfg'),
    sampler: option('sampler'),
    count: option('count'),
    strength: option('strength'),
    clipSkip: option('clip_skip'),
    lora: option('lora'),
    model: option('model'),
  };
}

/** Suggests samplers for the `sampler` option. */
async function samplerAutocomplete(interaction: AutocompleteInteraction): Promise<void> {
  const focused = interaction.options.getFocused(true);
  const choices = focused.name === 'sampler' ? suggestSamplers(String(focused.value)) : [];
  await interaction.respond(choices.map((c) => ({ name: c.name, value: c.value })));
}

/** Suggests samplers; for the `lora` option the LoRAs this server allows, for `model` the models, matching what is typed. */
export async function generationAutocomplete(interaction: AutocompleteInteraction, context: CommandContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  const typed = String(focused.value).toLowerCase();
  if (focused.name === 'model') {
    const choices = context.requestDefaults
      .models()
      .filter((model) => `${model.name} ${model.displayName} ${model.description ?? ''}`.toLowerCase().includes(typed))
      .slice(0, MAX_CHOICES);
    return interaction.respond(choices.map((model) => ({ name: modelChoiceName(model), value: model.name })));
  }
  if (focused.name !== 'lora') return samplerAutocomplete(interaction);
  const { settings } = await context.settings.effective(interaction.guildId);
  const choices = context.requestDefaults.loras
    .filter((lora) => settings.allowedLoras.length === 0 || settings.allowedLoras.includes(lora.name))
    .filter((lora) => `${lora.name} ${lora.activationText}`.toLowerCase().includes(typed))
    .slice(0, MAX_CHOICES);
  await interaction.respond(choices.map((lora) => ({ name: loraChoiceName(lora), value: lora.name })));
}

/** "Display name — description (1024²)", cut to Discord's 100 characters. */
function modelChoiceName(model: ServedModel): string {
  const shown = [model.displayName, model.description].filter(Boolean).join(' — ');
  return truncateChoice(`${shown} (${model.nativeSize}²)`);
}

/** "name — trigger words", cut to Discord's 100 characters. */
function loraChoiceName(lora: LoraChoice): string {
  return truncateChoice(lora.activationText ? `${lora.name} — ${lora.activationText}` : lora.name);
}

function truncateChoice(name: string): string {
  return name.length <= CHOICE_NAME_CHARS ? name : `${name.slice(0, CHOICE_NAME_CHARS - 1)}…`;
}
