import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationCommandOptionType, InteractionContextType, PermissionFlagsBits } from 'discord.js';
import { configCommand } from '../../../src/discord/commands/config.js';

describe('/config definition', () => {
  const { data } = configCommand;

  it('is for members with Manage Server, in servers only', () => {
    assert.equal(data.name, 'config');
    assert.equal(data.default_member_permissions, PermissionFlagsBits.ManageGuild.toString());
    assert.deepEqual(data.contexts, [InteractionContextType.Guild]);
  });

  it('has show, set key value, reset [key] and history, with keys autocompleted', () => {
    const describeOption = (o: { name: string; required?: boolean; autocomplete?: boolean }) => [
      o.name,
      o.required ?? false,
      o.autocomplete ?? false,
    ];
    const shape = data.options?.map((sub) => ({
      name: sub.name,
      type: sub.type,
      options: 'options' in sub ? sub.options?.map(describeOption) : undefined,
    }));
    const Sub = ApplicationCommandOptionType.Subcommand;
    assert.deepEqual(shape, [
      { name: 'show', type: Sub, options: [] },
      { name: 'set', type: Sub, options: [['key', true, true], ['value', true, false]] },
      { name: 'reset', type: Sub, options: [['key', false, true]] },
      { name: 'history', type: Sub, options: [] },
    ]);
  });
});
