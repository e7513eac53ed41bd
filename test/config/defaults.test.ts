import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULTS_PATH, readDefaults } from '../../src/config/index.js';
import { tempDir } from '../support/temp-dir.js';

describe('config/default.json', () => {
  it('is valid and frozen', () => {
    const defaults = readDefaults(DEFAULTS_PATH);
    assert.ok(defaults.generation.steps <= defaults.limits.maxSteps, 'default steps within the default limit');
    assert.ok(defaults.limits.minStrength <= defaults.limits.maxStrength);
    assert.ok(Object.isFrozen(defaults.limits));
    assert.throws(() => {
      (defaults.limits as { maxSteps: number }).maxSteps = 1;
    }, TypeError);
  });

  it('names the key that is out of range', () => {
    const dir = tempDir();
    const path = join(dir, 'default.json');
    const broken = JSON.parse(JSON.stringify(readDefaults(DEFAULTS_PATH))) as { generation: { steps: number } };
    broken.generation.steps = 0;
    writeFileSync(path, JSON.stringify(broken));
    assert.throws(() => readDefaults(path), (error: unknown) => error instanceof ConfigError && /`generation\.steps` Too small/.test(error.message));
  });

  it('rejects unknown keys so a typo is not silently ignored', () => {
    const dir = tempDir();
    const path = join(dir, 'default.json');
    const broken = { ...JSON.parse(JSON.stringify(readDefaults(DEFAULTS_PATH))), limitz: {} } as object;
    writeFileSync(path, JSON.stringify(broken));
    assert.throws(() => readDefaults(path), /Unrecognized key: "limitz"/);
  });

  it('reports a file that is not JSON', () => {
    const dir = tempDir();
    const path = join(dir, 'default.json');
    writeFileSync(path, '{ steps: 20 ');
    assert.throws(() => readDefaults(path), /cannot be read as JSON/);
  });
});

describe('config/default.json resolved at start', () => {
  /** `config/default.json` with `change` applied, written to a temporary file. */
  function withGeneration(change: Record<string, unknown>): string {
    const path = join(tempDir(), 'default.json');
    const defaults = JSON.parse(JSON.stringify(readDefaults(DEFAULTS_PATH))) as { generation: Record<string, unknown> };
    writeFileSync(path, JSON.stringify({ ...defaults, generation: { ...defaults.generation, ...change } }));
    return path;
  }
  const oneLine = (pattern: RegExp) => (error: unknown) =>
    error instanceof ConfigError && !error.message.includes('\n') && pattern.test(error.message);

  it('stops at a sampler typo, naming the key, instead of refusing every /imagine later', () => {
    assert.throws(() => readDefaults(withGeneration({ sampler: 'Eular a' })), oneLine(/`generation\.sampler` Unknown sampler "Eular a"/));
  });

  it('keeps a sampler given by its A1111 name as its id', () => {
    assert.equal(readDefaults(withGeneration({ sampler: 'Euler a' })).generation.sampler, 'euler_a');
  });

  // diffusers runs int(steps · strength) steps; A1111 (the bot's default mode) runs at least one for any strength.
  it('stops at a default strength that would leave no step at the default steps in diffusers mode', () => {
    const generation = { compat: 'diffusers', steps: 1, strength: 1, inpaintStrength: 0.5 };
    assert.throws(() => readDefaults(withGeneration(generation)), oneLine(/`generation\.inpaintStrength` .*no step would run/));
  });

  it('keeps a default strength that runs one step in a1111 mode, as A1111 does', () => {
    const generation = { compat: 'a1111', steps: 1, strength: 1, inpaintStrength: 0.5 };
    assert.equal(readDefaults(withGeneration(generation)).generation.inpaintStrength, 0.5);
  });

  it('stops at a default strength of 0 in a1111 mode', () => {
    const generation = { compat: 'a1111', steps: 20, strength: 1, inpaintStrength: 0 };
    assert.throws(() => readDefaults(withGeneration(generation)), oneLine(/`generation\.inpaintStrength` .*no step would run/));
  });
});
