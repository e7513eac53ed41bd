// Issue 14, delivery across a crash: the real process killed after Discord took the result's upload and before
// the bot heard so. The result message's nonce comes from the job, so the next start's upload finds that message
// rather than making a second one.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { Store } from '../../src/store/index.js';
import { FAST } from '../support/bot-harness.js';
import { startBotProcess } from '../support/bot-process.js';
import { FakeDiscord } from '../support/fake-discord/index.js';
import { processTempDir } from '../support/temp-dir.js';

const CREATE_MESSAGE = 'POST /channels/:channel/messages';

describe('delivery across a crash (issue 14)', () => {
  const fakes: FakeDiscord[] = [];
  after(async () => {
    for (const fake of fakes) await fake.stop();
  });

  it('killed after Discord made the result message, before the bot recorded it: the next start delivers it exactly once', { timeout: 120_000 }, async () => {
    const fake = await FakeDiscord.start();
    fakes.push(fake);
    const url = `sqlite://${join(processTempDir('dreamcord-store-'), 'dreamcord.sqlite')}`;
    const first = await startBotProcess({ fake, storeUrl: url });
    const hold = fake.holdAnswers({ method: 'POST', path: `/channels/${fake.channel.id}/messages` });

    const run = fake.sendCommand({ name: 'imagine', options: { prompt: 'a lighthouse that survives a crash', ...FAST } });
    // A moderator deletes the reply: the result can only come as a new channel message.
    const reply = await run.waitForOriginal(() => true);
    fake.deleteMessage(reply);

    await fake.waitFor(() => hold.held.length > 0, 60_000, 'the result upload');
    const made = fake.messagesIn().filter((message) => message.attachments.length > 0);
    assert.equal(made.length, 1, 'Discord made the result message');
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    hold.release();

    const second = await startBotProcess({ fake, storeUrl: url });
    await fake.waitFor(() => fake.requestsTo(CREATE_MESSAGE).filter((request) => request.status === 200).length > 1, 60_000, 'the upload after the restart');
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);

    const results = fake.messagesIn().filter((message) => message.attachments.length > 0);
    assert.deepEqual(results.map((message) => message.id), [made[0]?.id], 'one result message, the one made before the crash');
    const uploads = fake.requestsTo(CREATE_MESSAGE);
    const nonces = uploads.map((request) => z.object({ nonce: z.string(), enforce_nonce: z.literal(true) }).parse(request.json).nonce);
    assert.equal(uploads.length, 2);
    assert.equal(new Set(nonces).size, 1, 'both uploads carry the same nonce');
    assert.deepEqual(fake.violations, []);

    const store = await Store.open(url);
    const jobs = await store.collection('jobs', { schema: z.looseObject({ status: z.string(), messageId: z.string().optional() }), version: 1 });
    const records = [];
    for await (const [, record] of jobs.entries()) records.push(record);
    await store.close();
    assert.deepEqual(records.map(({ status, messageId }) => ({ status, messageId })), [{ status: 'completed', messageId: made[0]?.id }]);
  });
});
