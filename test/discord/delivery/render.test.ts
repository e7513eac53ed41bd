// A job's progress text (src/discord/delivery/render.ts): a job the bot picked up again after a restart says so in
// every state before its result — waiting, its model being prepared, running.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { progressContent, type JobState } from '../../../src/discord/delivery/render.js';
import type { JobRecord } from '../../../src/jobs/job-record.js';

// progressContent reads the owner, the prompt and the model of a record.
const record = { origin: { userId: '42' }, request: { prompt: 'a lighthouse at dusk', model: 'tiny-sd' } } as unknown as JobRecord;

describe("a job's progress text", () => {
  const states: Extract<JobState, { resumed?: boolean }>[] = [
    { kind: 'queued', position: 2, etaMs: 5000 },
    { kind: 'preparing' },
    { kind: 'running', step: 3, total: 20, etaMs: 4000 },
  ];

  it('says "resumed after a restart" while a resumed job waits, has its model prepared and runs', () => {
    for (const state of states) {
      assert.match(progressContent(record, { ...state, resumed: true }), /<@42>'s job.*\(resumed after a restart\)/, state.kind);
    }
  });

  it('says nothing of a restart for a job that was not resumed', () => {
    for (const state of states) assert.doesNotMatch(progressContent(record, state), /resumed/, state.kind);
  });
});
