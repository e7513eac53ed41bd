// The content classifier's own thread: a classification keeps its thread busy for about 90 ms, which must not
// delay Discord's interactions on the main thread. Messages: see classifier-protocol.ts.
import { parentPort, workerData } from 'node:worker_threads';
import type { ClassifierWorkerOptions, FromClassifier, ToClassifier } from './classifier-protocol.js';
import { loadNsfwModel } from './nsfw-model.js';

const port = parentPort;
if (!port) throw new Error('classifier-worker.ts runs as a worker thread only.');
const post = (message: FromClassifier) => port.postMessage(message);
const options = workerData as ClassifierWorkerOptions;

try {
  const model = await loadNsfwModel(options.modelDir);
  port.on('message', (message: ToClassifier) => {
    model.classify(message.image).then(
      (scores) => post({ type: 'result', id: message.id, scores }),
      (error: unknown) => post({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) }),
    );
  });
  post({ type: 'ready', model: model.name });
} catch (error) {
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}
