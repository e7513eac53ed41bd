// Issue 10, Discord faults: rate limits, server errors, a dropped gateway, a late acknowledgement and deleted
// messages, each injected by the fake Discord while the real bot works.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InteractionHandle, RecordedRequest } from '../support/fake-discord/index.js';
import { startBot, FAST, type BotHarness } from '../support/bot-harness.js';

const EDIT_REPLY = 'PATCH /webhooks/:application/:token/messages/:message';
const CALLBACK = 'POST /interactions/:interaction/:token/callback';

/** Requests made with `run`'s token (its acknowledgement, reply edits and follow-ups). */
const requestsOf = (requests: readonly RecordedRequest[], run: InteractionHandle) =>
  requests.filter((request) => request.path.includes(run.token));

describe('Discord faults (issue 10)', () => {
  let bot: BotHarness;
  const imagine = (prompt: string, options: Record<string, number> = FAST) =>
    bot.fake.sendCommand({ name: 'imagine', user: bot.fake.createMember({ username: prompt.replace(/\W+/g, '-') }), options: { prompt, ...options } });
  const result = (run: InteractionHandle) => run.waitForOriginal((message) => message.attachments.length > 0, 60_000);
  /** Visible messages carrying an image: a job answered twice would show up twice. */
  const resultMessages = () => bot.fake.messagesIn().filter((message) => message.attachments.length > 0);

  before(async () => {
    bot = await startBot();
  });
  after(() => bot.stop());

  it('waits out 429s (route and global) for as long as Discord says, then answers once', { timeout: 60_000 }, async () => {
    const before = resultMessages().length;
    const globalLimit = bot.fake.injectFault({ method: 'POST', path: '/callback', status: 429, retryAfter: 0.5, global: true });
    const editLimit = bot.fake.injectFault({ method: 'PATCH', path: '/messages/@original', status: 429, retryAfter: 1, times: 2 });
    const run = imagine('rate limited');
    const ack = await run.waitForAck();
    assert.ok(ack.latencyMs >= 500, `acknowledged ${ack.latencyMs} ms after the global limit of 500 ms`);
    await result(run);
    assert.equal(globalLimit.hits, 1);
    assert.equal(editLimit.hits, 2);
    const edits = requestsOf(bot.fake.requests, run).filter((request) => request.route === EDIT_REPLY);
    for (const [i, request] of edits.entries()) {
      const next = edits[i + 1];
      if (request.status === 429 && next) assert.ok(next.at - request.at >= 1000, `retried ${next.at - request.at} ms after a 429 asking for 1 s`);
    }
    assert.equal(resultMessages().length - before, 1);
    assert.deepEqual(bot.fake.violations, []);
  });

  it('retries 5xx with growing pauses until Discord recovers, and the result arrives exactly once', { timeout: 60_000 }, async () => {
    const before = resultMessages().length;
    const ackErrors = bot.fake.injectFault({ method: 'POST', path: '/callback', status: 500, times: 2 });
    const run = imagine('through an outage');
    await run.waitFor((handle) => handle.edits.length > 0, 10_000, 'the first progress edit');
    assert.equal(ackErrors.hits, 2, 'discord.js retried the acknowledgement');
    // Six failures: more than discord.js's own three immediate retries of one request.
    const outage = bot.fake.injectFault({ method: 'PATCH', path: '/messages/@original', status: 503, times: 6 });
    await result(run);
    assert.equal(outage.hits, 6);
    const failed = bot.fake.requests.filter((request) => request.fault && request.status === 503);
    const pauses = failed.slice(1).map((request, i) => request.at - (failed[i]?.at ?? 0));
    assert.ok(Math.max(...pauses) >= 500, `a backoff pause between the failed attempts (${pauses.join(', ')} ms)`);
    assert.ok(bot.logs.some((line) => line['msg'] === 'Discord failed; retrying the result'));
    assert.equal(resultMessages().length - before, 1);
    assert.deepEqual(bot.fake.violations, []);
  });

  it('the gateway drops mid-job: the client resumes, the job is delivered, and commands keep working', { timeout: 60_000 }, async () => {
    const stats = bot.fake.gateway;
    const run = imagine('across a reconnect', { width: 256, height: 256, steps: 50 });
    await run.waitFor((handle) => handle.edits.some((edit) => /step/.test(edit.content)), 30_000, 'the job to run');
    await bot.fake.dropGateway();
    const whileDown = imagine('sent while the gateway was down'); // replayed to the bot when it resumes
    await bot.fake.waitFor(() => bot.fake.gateway.resumes > stats.resumes, 20_000, 'a RESUME');
    await result(run);
    await result(whileDown);
    await result(imagine('after the resume'));

    await bot.fake.dropGateway({ resumable: false });
    await bot.fake.waitFor(() => bot.fake.gateway.identifies > stats.identifies && bot.fake.gateway.connected > 0, 20_000, 'a new session');
    await result(imagine('after a new session'));
    assert.deepEqual(bot.fake.violations, []);
  });

  it('an interaction that cannot be acknowledged in time is logged once and never retried', { timeout: 30_000 }, async () => {
    const run = imagine('acknowledged too late');
    bot.fake.clock.advance(4000); // past Discord's 3 s before the bot's answer can arrive
    await bot.fake.waitFor(
      () => bot.logs.find((line) => line['msg'] === 'interaction expired before it was acknowledged' && line['interactionId'] === run.id),
      10_000,
      'the log line',
    );
    // Give a retry loop the chance to show itself before counting.
    await result(imagine('the next one')); 
    const calls = requestsOf(bot.fake.requests, run);
    assert.deepEqual(calls.map((request) => `${request.route ?? request.path} ${request.status}`), [`${CALLBACK} 404`]);
    assert.deepEqual(bot.fake.violations.map((violation) => violation.rule), ['ack-deadline']);
    assert.ok(!bot.logs.some((line) => line['msg'] === 'job accepted' && line['userId'] === run.user.id), 'no job was queued');
  });

  it('stops editing a progress message a moderator deleted, and posts the result to the channel once', { timeout: 60_000 }, async () => {
    const before = resultMessages().length;
    const run = imagine('deleted under way', { width: 256, height: 256, steps: 50 });
    await run.waitFor((handle) => handle.edits.some((edit) => /step/.test(edit.content)), 30_000, 'the job to run');
    const original = run.original;
    assert.ok(original);
    bot.fake.deleteMessage(original);
    const posted = await bot.fake.waitForMessage(
      (message) => message.attachments.length > 0 && message.content.includes(`<@${run.user.id}>`),
      { timeoutMs: 60_000 },
    );
    assert.notEqual(posted.id, original.id);
    const gone = requestsOf(bot.fake.requests, run).filter((request) => request.route === EDIT_REPLY && request.status === 404);
    assert.equal(gone.length, 1, 'one edit learnt the message was gone; none after it');
    assert.equal(resultMessages().length - before, 1);
  });
});
