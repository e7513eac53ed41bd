// The guard between Discord and the handlers, for autocomplete: a modified client can send any options while a
// member types; the handler only sees what the command's definition allows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationCommandOptionType as Type, type CommandInteractionOption } from 'discord.js';
import { imagineCommand } from '../../src/discord/commands/imagine.js';
import { inpaintCommand } from '../../src/discord/commands/inpaint.js';
import { autocompleteMismatch, commandMismatch } from '../../src/discord/interactions/interaction-guard.js';

const imagine = imagineCommand.data;
const text = (name: string, value: string, focused = false): CommandInteractionOption =>
  ({ name, type: Type.String, value, ...(focused ? { focused } : {}) });

describe('autocompleteMismatch', () => {
  it('lets a member type in an option with autocomplete before filling the required ones', () => {
    assert.equal(autocompleteMismatch(imagine, [text('lora', 'wa', true)]), undefined);
    assert.equal(autocompleteMismatch(imagine, [text('prompt', 'a heron'), text('sampler', '', true)]), undefined);
    // The command itself still needs its required options (/imagine's prompt may come from `parameters`).
    assert.equal(commandMismatch(inpaintCommand.data, [text('prompt', 'a heron')]), '`/inpaint` needs `image`.');
  });

  it('refuses a focused option without autocomplete, typed text over its limit, and anything but one focused option', () => {
    assert.equal(autocompleteMismatch(imagine, [text('prompt', 'a heron', true)]), '`prompt` has no autocomplete.');
    assert.equal(autocompleteMismatch(imagine, [text('lora', 'x'.repeat(101), true)]), '`lora` is 101 characters long; the limit is 100.');
    assert.equal(autocompleteMismatch(imagine, [text('lora', 'ink')]), '`/imagine` needs one focused option.');
    assert.equal(autocompleteMismatch(imagine, [text('lora', 'ink', true), text('sampler', 'Euler', true)]), '`/imagine` needs one focused option.');
    const number = { name: 'lora', type: Type.String, value: 3, focused: true } as CommandInteractionOption;
    assert.equal(autocompleteMismatch(imagine, [number]), '`lora` must be the text typed so far.');
  });

  it('checks the options not being typed as a command does', () => {
    assert.equal(autocompleteMismatch(imagine, [text('nope', 'x'), text('lora', '', true)]), '`/imagine` has no option by that name.');
    assert.equal(autocompleteMismatch(imagine, [text('lora', 'a', true), text('lora', 'b')]), '`/imagine` got `lora` twice.');
  });
});
