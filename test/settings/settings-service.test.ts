import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULTS_PATH, readDefaults } from '../../src/config/index.js';
import { SettingsService, type Moderator } from '../../src/settings/settings-service.js';
import { HISTORY_LIMIT, SettingsStore } from '../../src/settings/settings-store.js';
import { Store } from '../../src/store/index.js';
import { tempDir } from '../support/temp-dir.js';

const defaults = readDefaults(DEFAULTS_PATH);
const ALICE: Moderator = { userId: '100000000000000001', userName: 'alice' };
const BOB: Moderator = { userId: '100000000000000002', userName: 'bob' };
const CHANNEL = '123456789012345678';
const dir = tempDir();
let files = 0;

/** A settings service over a fresh SQLite file, with a clock that ticks one second per change. */
async function open(url = `sqlite://${join(dir, `settings-${files++}.sqlite`)}`) {
  const store = await Store.open(url);
  after(() => store.close());
  const settings = await SettingsStore.open(store, defaults);
  let tick = Date.UTC(2025, 0, 1);
  const service = new SettingsService(settings, () => new Date((tick += 1000)));
  return { url, store, settings, service };
}

/** The value of a successful result; fails the test with the refusal otherwise. */
function ok<T extends { ok: boolean }>(result: T): Extract<T, { ok: true }> {
  assert.ok(result.ok, 'message' in result ? String(result.message) : 'refused');
  return result as Extract<T, { ok: true }>;
}

/** The message of a refusal. */
function refused(result: { ok: boolean; code?: string; message?: string }): string {
  assert.equal(result.ok, false, 'expected a refusal');
  assert.equal(result.code, 'INVALID_OPTION');
  return result.message ?? '';
}

describe('SettingsService', () => {
  it('sets a value, overlays it on the defaults and bumps the revision', async () => {
    const { settings, service } = await open();
    const set = ok(await service.set('g1', 'maxSteps', '30', ALICE));
    assert.equal(set.revision, 1);
    assert.deepEqual(
      { key: set.change.key, old: set.change.old, new: set.change.new, action: set.change.action },
      { key: 'maxSteps', old: 50, new: 30, action: 'set' },
    );
    const effective = await settings.effective('g1');
    assert.equal(effective.settings.maxSteps, 30);
    assert.equal(effective.settings.cfg, defaults.generation.cfg);
    assert.deepEqual([...effective.overridden], ['maxSteps']);
    assert.equal(effective.revision, 1);
    assert.equal(ok(await service.set('g1', 'cfg', '5', ALICE)).revision, 2);
    assert.equal((await settings.effective('g2')).settings.maxSteps, 50, 'another server keeps the defaults');
    assert.equal((await settings.effective(null)).revision, 0);
  });

  it('keeps settings and their history across a restart', async () => {
    const first = await open();
    ok(await first.service.set('g1', 'allowedChannels', `<#${CHANNEL}>`, ALICE));
    ok(await first.service.set('g1', 'rerollReactions', 'off', BOB));
    await first.store.close();
    const second = await open(first.url);
    const { settings } = await second.settings.effective('g1');
    assert.deepEqual(settings.allowedChannels, [CHANNEL]);
    assert.equal(settings.rerollReactions, false);
    assert.deepEqual(
      (await second.service.history('g1')).map((entry) => [entry.userName, entry.key, entry.old, entry.new]),
      [
        ['bob', 'rerollReactions', true, false],
        ['alice', 'allowedChannels', [], [CHANNEL]],
      ],
    );
  });

  it('refuses an unknown key or a bad value without writing anything', async () => {
    const { settings, service } = await open();
    assert.match(refused(await service.set('g1', 'turbo', '1', ALICE)), /^Unknown setting "turbo"\. Valid settings: model, steps, cfg, /);
    assert.equal(refused(await service.set('g1', 'maxSteps', '500', ALICE)), '`maxSteps` must be a whole number from 1 to 150, got 500.');
    assert.match(refused(await service.set('g1', 'rerollReactions', 'sometimes', ALICE)), /must be true or false/);
    assert.match(refused(await service.set('g1', 'blockedWords', ',', ALICE)), /must be words or phrases/);
    assert.match(refused(await service.set('g1', 'sampler', 'turbo', ALICE)), /Unknown sampler "turbo"\. Valid samplers:/);
    assert.match(refused(await service.reset('g1', 'turbo', ALICE)), /^Unknown setting "turbo"/);
    assert.equal((await settings.effective('g1')).revision, 0);
    assert.deepEqual(await service.history('g1'), []);
  });

  it('stores a sampler as its id', async () => {
    const { settings, service } = await open();
    ok(await service.set('g1', 'sampler', 'Euler a', ALICE));
    assert.equal((await settings.effective('g1')).settings.sampler, 'euler_a');
  });

  it('keeps minStrength at most maxStrength, from either side, giving the valid range', async () => {
    const { service } = await open();
    ok(await service.set('g1', 'maxStrength', '0.5', ALICE));
    assert.equal(
      refused(await service.set('g1', 'minStrength', '0.8', ALICE)),
      '`minStrength` must be a number from 0 to 0.5 while `maxStrength` is 0.5, got 0.8.',
    );
    ok(await service.set('g1', 'minStrength', '0.4', ALICE));
    assert.equal(
      refused(await service.set('g1', 'maxStrength', '0.3', ALICE)),
      '`maxStrength` must be a number from 0.4 to 1 while `minStrength` is 0.4, got 0.3.',
    );
  });

  it('refuses a default steps over maxSteps, but lets maxSteps go under the default, which it then caps', async () => {
    const { settings, service } = await open();
    assert.equal(
      refused(await service.set('g1', 'steps', '60', ALICE)),
      '`steps` must be a whole number from 1 to 50 while `maxSteps` is 50, got 60.',
    );
    const lowered = ok(await service.set('g1', 'maxSteps', '20', ALICE));
    assert.equal(lowered.notice, 'The default `steps` 25 is over it, so 20 is used instead.');
    assert.equal((await settings.effective('g1')).settings.steps, 20);
    const row = (await service.show('g1')).rows.find((r) => r.key === 'steps');
    assert.deepEqual(
      row && { value: row.value, source: row.source, cappedBy: row.cappedBy },
      { value: 20, source: 'default', cappedBy: 'maxSteps' },
    );
    assert.equal(ok(await service.set('g1', 'maxSteps', '40', ALICE)).notice, undefined);
    assert.equal((await settings.effective('g1')).settings.steps, 25);
  });

  it('resets one key or all (in registry order), recording each as a reset; a key at its default is no change', async () => {
    const { settings, service } = await open();
    ok(await service.set('g1', 'maxSteps', '30', ALICE));
    ok(await service.set('g1', 'blockedWords', 'gore, blood', ALICE));
    ok(await service.set('g1', 'rng', 'cpu', ALICE));
    const one = ok(await service.reset('g1', 'MAXSTEPS', BOB));
    assert.equal(one.key, 'maxSteps');
    assert.deepEqual(one.changes.map((c) => [c.key, c.action, c.old, c.new]), [['maxSteps', 'reset', 30, 50]]);
    assert.equal(one.revision, 4);
    const again = ok(await service.reset('g1', 'maxSteps', BOB));
    assert.deepEqual(again.changes, []);
    assert.equal(again.revision, 4, 'nothing written');
    const all = ok(await service.reset('g1', undefined, BOB));
    assert.deepEqual(all.changes.map((c) => [c.key, c.old, c.new]), [
      ['rng', 'cpu', 'gpu'],
      ['blockedWords', ['gore', 'blood'], []],
    ]);
    assert.equal(all.key, undefined);
    const effective = await settings.effective('g1');
    assert.deepEqual(effective.settings, settings.defaults);
    assert.equal(effective.overridden.size, 0);
    assert.equal(effective.revision, 5);
    assert.equal((await service.history('g1', 100)).length, 6);
  });

  it('refuses a reset whose default would break an order rule with a value the server set', async () => {
    const { store, service } = await open();
    const strict = await SettingsStore.open(store, { ...defaults, limits: { ...defaults.limits, minStrength: 0.5 } });
    const strictService = new SettingsService(strict);
    ok(await strictService.set('g1', 'minStrength', '0.1', ALICE));
    ok(await strictService.set('g1', 'maxStrength', '0.2', ALICE));
    assert.equal(
      refused(await strictService.reset('g1', 'minStrength', BOB)),
      '`minStrength` must be a number from 0 to 0.2 while `maxStrength` is 0.2, got 0.5 (its default).',
    );
    assert.equal(ok(await service.reset('g1', 'minStrength', BOB)).changes.length, 1, 'fine under the shipped defaults');
  });

  it('shows every key with its value in force, its group, and whether it is the default or set', async () => {
    const { service } = await open();
    ok(await service.set('g1', 'blockedWords', 'gore', ALICE));
    const overview = await service.show('g1');
    assert.equal(overview.revision, 1);
    assert.equal(overview.rows.length, 38);
    const byKey = new Map(overview.rows.map((row) => [row.key, row]));
    assert.deepEqual(byKey.get('blockedWords'), {
      key: 'blockedWords',
      group: 'Channels & words',
      description: 'words that make a prompt refused (replaces the whole list)',
      value: ['gore'],
      source: 'set',
      cappedBy: undefined,
    });
    assert.equal(byKey.get('maxSteps')?.source, 'default');
    assert.equal(byKey.get('maxSteps')?.group, 'Limits');
  });

  it('lists the history newest first, with who and when, keeping the last 100 changes', async () => {
    const { service } = await open();
    for (let steps = 1; steps <= HISTORY_LIMIT + 5; steps++) ok(await service.set('g1', 'maxCount', String((steps % 4) + 1), ALICE));
    ok(await service.set('g1', 'cfg', '9', BOB));
    const last = await service.history('g1', 3);
    assert.deepEqual(last.map((e) => [e.userId, e.key, e.new]), [
      [BOB.userId, 'cfg', 9],
      [ALICE.userId, 'maxCount', ((HISTORY_LIMIT + 5) % 4) + 1],
      [ALICE.userId, 'maxCount', ((HISTORY_LIMIT + 4) % 4) + 1],
    ]);
    assert.ok((last[0]?.at ?? 0) > (last[1]?.at ?? 0));
    assert.equal((await service.history('g1', 1000)).length, HISTORY_LIMIT);
    await assert.rejects(service.history('g1', 0), RangeError);
  });

  it('records both of two moderators changing one server at once', async () => {
    const { settings, service } = await open();
    const results = await Promise.all([
      service.set('g1', 'maxSteps', '40', ALICE),
      service.set('g1', 'cfg', '4', BOB),
      service.set('g1', 'rng', 'cpu', ALICE),
    ]);
    assert.deepEqual(results.map((r) => ok(r).revision).sort(), [1, 2, 3]);
    const { settings: values, revision } = await settings.effective('g1');
    assert.deepEqual([values.maxSteps, values.cfg, values.rng, revision], [40, 4, 'cpu', 3]);
    assert.equal((await service.history('g1')).length, 3);
  });

  it('plans a change again when another process wrote in between, losing neither', async () => {
    const { store, settings, service } = await open();
    const otherProcess = new SettingsService(await SettingsStore.open(store, defaults));
    let plans = 0;
    const saved = await settings.update('g1', async (current) => {
      plans++;
      if (plans === 1) ok(await otherProcess.set('g1', 'cfg', '3', BOB));
      const entry = { at: 1, userId: ALICE.userId, userName: ALICE.userName, key: 'maxCount', action: 'set', old: 4, new: 2 } as const;
      return { ok: true, values: { ...current.values, maxCount: 2 }, entries: [entry] };
    });
    assert.equal(plans, 2);
    assert.equal(ok(saved).record.revision, 2);
    const { settings: values } = await settings.effective('g1');
    assert.deepEqual([values.cfg, values.maxCount], [3, 2]);
    assert.deepEqual((await service.history('g1')).map((e) => e.key), ['maxCount', 'cfg']);
  });
});
