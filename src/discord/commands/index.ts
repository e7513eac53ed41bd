import type { SlashCommand } from '../interactions/command.js';
import { configCommand } from './config.js';
import { imagineCommand } from './imagine.js';
import { inpaintCommand } from './inpaint.js';
import { queueCommand } from './queue.js';
import { variationCommand } from './variation.js';

/** Every slash command the bot registers, in the order Discord lists them. */
export const COMMANDS: readonly SlashCommand[] = [imagineCommand, variationCommand, inpaintCommand, queueCommand, configCommand];
