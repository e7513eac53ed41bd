import type { SlashCommand } from './command.js';
import { configCommand } from './config.js';
import { imagineCommand } from './imagine.js';

/** Every slash command the bot registers, in the order Discord lists them. */
export const COMMANDS: readonly SlashCommand[] = [imagineCommand, configCommand];
