// Issue 23's interaction fuzz, a short seeded run (`npm run fuzz` runs it long), and one real process that takes
// a generated hostile sequence and still exits 0 on SIGTERM.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { startBotProcess } from '../support/bot-process.js';
import { FakeDiscord } from '../support/fake-discord/index.js';
import { tempDir } from '../support/temp-dir.js';
import { actionsArbitrary, FuzzWorld, runInteractionFuzz } from './interaction-fuzz.js';

/** Fixed, so that a failure in CI is the same failure on a laptop. */
const SEED = 23;

describe('hostile members against the real bot (issue 23)', () => {
  it('a short seeded run of action sequences keeps every invariant', { timeout: 300_000 }, async () => {
    // Short, so that npm test stays quick; `npm run fuzz` runs long. The long run once found a job left
    // `undelivered`: a cancel while its pictures were stored was overwritten (test/jobs/job-service.test.ts).
    const report = await runInteractionFuzz({ seed: SEED, numRuns: 30, maxActions: 8, strictDeadline: false });
    console.log(`interaction fuzz: ${JSON.stringify(report)}`);
    assert.ok(report.acceptedJobs > 0, 'some jobs were accepted, so answers were checked too');
  });

  const fakes: FakeDiscord[] = [];
  after(async () => {
    for (const fake of fakes) await fake.stop();
  });

  it('the real process takes a generated hostile sequence, then exits 0 on SIGTERM', { timeout: 180_000 }, async () => {
    const fake = await FakeDiscord.start();
    fakes.push(fake);
    const storeUrl = `sqlite://${join(tempDir('dreamcord-fuzz-'), 'dreamcord.sqlite')}`;
    const bot = await startBotProcess({ fake, storeUrl });
    const world = await FuzzWorld.open({ fake, storeUrl, logs: bot.logs });
    const [actions] = fc.sample(actionsArbitrary(12), { seed: SEED, numRuns: 1 });
    for (const action of actions ?? []) await world.act(action, false);
    await world.close();
    bot.child.kill('SIGTERM');
    assert.deepEqual(await bot.exited, { code: 0, signal: null }, bot.output().slice(-2000));
  });
});
