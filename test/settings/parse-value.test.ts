import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSettingKey, suggestSettingKeys } from '../../src/settings/find-key.js';
import { formatValue } from '../../src/discord/commands/setting-text.js';
import { SETTING_KEY_NAMES, type SettingKey } from '../../src/settings/keys.js';
import { parseSettingValue } from '../../src/settings/parse-value.js';
import { REQUEST_LIMITS } from '../../src/pipeline/index.js';

const CHANNEL_A = '123456789012345678';
const CHANNEL_B = '223456789012345678';

function value(key: SettingKey, raw: string): unknown {
  const result = parseSettingValue(key, raw);
  assert.ok(result.ok, result.ok ? '' : result.message);
  return result.value;
}

function refusal(key: SettingKey, raw: string): string {
  const result = parseSettingValue(key, raw);
  assert.equal(result.ok, false, `${key} = ${JSON.stringify(raw)} should be refused`);
  assert.equal(result.ok ? undefined : result.code, 'INVALID_OPTION');
  return result.ok ? '' : result.message;
}

describe('parseSettingValue', () => {
  it('reads numbers in decimal notation only', () => {
    assert.equal(value('maxSteps', ' 20 '), 20);
    assert.equal(value('cfg', '7.5'), 7.5);
    assert.equal(value('minStrength', '.25'), 0.25);
    assert.equal(refusal('maxSteps', ''), '`maxSteps` must be a whole number from 1 to 150, got nothing.');
    assert.equal(refusal('maxSteps', '0x10'), '`maxSteps` must be a whole number from 1 to 150, got 0x10.');
    assert.equal(refusal('maxSteps', '1e3'), '`maxSteps` must be a whole number from 1 to 150, got 1e3.');
  });

  it('refuses a number out of range or not whole, giving the valid range', () => {
    assert.equal(refusal('maxSteps', '200'), '`maxSteps` must be a whole number from 1 to 150, got 200.');
    assert.equal(refusal('maxCount', '2.5'), '`maxCount` must be a whole number from 1 to 4, got 2.5.');
    assert.equal(refusal('cfg', '-1'), `\`cfg\` must be a number from 0 to ${REQUEST_LIMITS.cfg.max}, got -1.`);
    assert.equal(refusal('maxPixels', '100'), '`maxPixels` must be a whole number from 4096 to 4194304, got 100.');
  });

  it('reads booleans as true/false, on/off or yes/no, in any case', () => {
    for (const raw of ['true', 'ON', 'Yes']) assert.equal(value('rerollReactions', raw), true);
    for (const raw of ['false', 'off', 'NO']) assert.equal(value('rerollReactions', raw), false);
    assert.equal(
      refusal('rerollReactions', 'maybe'),
      '`rerollReactions` must be true or false (or on/off, yes/no), got maybe.',
    );
  });

  it('reads choices case-insensitively and lists them when refused', () => {
    assert.equal(value('rng', 'CPU'), 'cpu');
    assert.equal(value('aspect', '16:9'), '16:9');
    assert.equal(refusal('aspect', '5:4'), '`aspect` must be one of 1:1, 2:3, 3:2, 3:4, 4:3, 9:16, 16:9, 9:21, 21:9, got 5:4.');
    assert.equal(refusal('overLimit', 'ignore'), '`overLimit` must be one of refuse, clamp, got ignore.');
  });

  it('stores a sampler as its id, whatever name was typed', () => {
    assert.equal(value('sampler', 'DPM++ 2M Karras'), 'dpmpp_2m_karras');
    assert.equal(value('sampler', 'euler a'), 'euler_a');
    assert.match(refusal('sampler', 'warp drive'), /^`sampler`: Unknown sampler "warp drive"\. Valid samplers: PLMS, DDIM, .*Euler a/);
  });

  it('reads channel mentions and ids, comma- or space-separated, and all/none as every channel', () => {
    assert.deepEqual(value('allowedChannels', `<#${CHANNEL_A}>, ${CHANNEL_B} <#${CHANNEL_A}>`), [CHANNEL_A, CHANNEL_B]);
    assert.deepEqual(value('allowedChannels', 'all'), []);
    assert.deepEqual(value('allowedChannels', 'None'), []);
    const range = 'channel mentions or ids, comma-separated (at most 100), or all';
    assert.equal(refusal('allowedChannels', '#general'), `\`allowedChannels\` must be ${range}, got "#general".`);
    assert.equal(refusal('allowedChannels', '<#12>'), `\`allowedChannels\` must be ${range}, got "<#12>".`);
    assert.equal(refusal('allowedChannels', `<@${CHANNEL_A}>`), `\`allowedChannels\` must be ${range}, got "<@${CHANNEL_A}>".`);
  });

  it('reads word lists comma-separated, trimmed and without repeats; none empties the list', () => {
    assert.deepEqual(value('blockedWords', ' gore, blood ,, gore, red wine,'), ['gore', 'blood', 'red wine']);
    assert.deepEqual(value('blockedWords', 'none'), []);
    const range = 'words or phrases of up to 100 characters, comma-separated (at most 500), or none';
    assert.equal(refusal('blockedWords', ' , ,'), `\`blockedWords\` must be ${range}, got ", ,".`);
    const long = 'x'.repeat(101);
    assert.equal(refusal('blockedWords', `ok, ${long}`), `\`blockedWords\` must be ${range}, got "ok, ${'x'.repeat(36)}…".`);
    const many = Array.from({ length: 501 }, (_, i) => `w${i}`).join(',');
    assert.match(refusal('blockedWords', many), /at most 500/);
  });

  it('takes text as typed (trimmed), and none as empty', () => {
    assert.equal(value('negativePrompt', '  blurry, lowres '), 'blurry, lowres');
    assert.equal(value('negativePrompt', 'none'), '');
    const message = refusal('negativePrompt', 'x'.repeat(1001));
    assert.match(message, /^`negativePrompt` must be text of up to 1000 characters, or none, got "x{40}…"\.$/);
  });
});

describe('parseSettingKey', () => {
  it('finds a key whatever its case', () => {
    assert.deepEqual(parseSettingKey(' MAXSTEPS '), { ok: true, key: 'maxSteps' });
  });

  it('refuses an unknown key, listing the valid ones', () => {
    const result = parseSettingKey('turbo');
    assert.equal(result.ok, false);
    assert.equal(result.ok ? undefined : result.message, `Unknown setting "turbo". Valid settings: ${SETTING_KEY_NAMES.join(', ')}.`);
  });
});

describe('suggestSettingKeys', () => {
  it('ranks keys starting with the text first, then containing it, then by description', () => {
    assert.deepEqual(suggestSettingKeys('max').slice(0, 5), ['maxSteps', 'maxPixels', 'maxCount', 'maxQueuedPerMember', 'maxStrength']);
    assert.deepEqual(suggestSettingKeys('strength'), ['hiresStrength', 'minStrength', 'maxStrength', 'varySubtle', 'varyStrong']);
    assert.deepEqual(suggestSettingKeys('reaction'), ['rerollReactions']);
    assert.ok(suggestSettingKeys('channel').includes('allowedChannels'));
    assert.deepEqual(suggestSettingKeys('zzz'), []);
  });

  it('offers every key for empty text, at most the limit', () => {
    assert.deepEqual(suggestSettingKeys(''), SETTING_KEY_NAMES.slice(0, 25), "Discord's 25 choices, in the order /config show lists them");
    assert.equal(suggestSettingKeys('', 3).length, 3);
  });
});

describe('formatValue', () => {
  it('shows lists, channels, booleans and empty values readably', () => {
    assert.equal(formatValue('allowedChannels', [CHANNEL_A, CHANNEL_B]), `<#${CHANNEL_A}>, <#${CHANNEL_B}>`);
    assert.equal(formatValue('allowedChannels', []), '(all channels)');
    assert.equal(formatValue('blockedWords', ['gore', 'red wine']), 'gore, red wine');
    assert.equal(formatValue('blockedWords', []), '(none)');
    assert.equal(formatValue('negativePrompt', ''), '(none)');
    assert.equal(formatValue('rerollReactions', true), 'on');
    assert.equal(formatValue('rerollReactions', false), 'off');
    assert.equal(formatValue('cfg', 7.5), '7.5');
    assert.equal(formatValue('sampler', 'euler_a'), 'euler_a');
  });
});
