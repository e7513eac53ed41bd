// Run by restart.test.ts in a child process, which the test kills with SIGKILL while the third job runs.
// Prints one line per fact the test needs: "accepted <id> <prompt>", "hanging <id>", "completed <id>".
import { JobQueue } from '../../src/queue/index.js';
import { Store } from '../../src/store/index.js';
import { costOf, request, Request } from './helpers.js';

const [url] = process.argv.slice(2);
if (url === undefined) throw new Error('Usage: crash-child.ts <store url>');
const store = await Store.open(url);
const queue = await JobQueue.open<Request, string>({
  store,
  payloadSchema: Request,
  costOf,
  maxQueuedPerUser: 4,
  runner: (job) => {
    if (job.payload.prompt !== 'hangs') return Promise.resolve('image');
    console.log(`hanging ${job.id}`);
    return new Promise<string>(() => undefined);
  },
});
queue.on('completed', ({ job }) => console.log(`completed ${job.id}`));
await queue.start();
for (const prompt of ['first', 'second', 'hangs', 'fourth']) {
  const result = await queue.submit({ ownerId: 'ann', guildId: 'guild-1', payload: request(prompt) });
  if (!result.ok) throw new Error(result.message);
  console.log(`accepted ${result.job.id} ${prompt}`);
}
