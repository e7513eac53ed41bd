// A session's call thread (see CallThread in call-thread.ts): binds the slow functions of ONNX Runtime's C API and
// makes each call it is sent, synchronously, in the order sent.
import { parentPort, workerData } from 'node:worker_threads';
import { bindFunctions } from './c-api.js';
import { outputArrays, THREAD_FUNCTION_NAMES, type CallReply, type CallRequest, type CallThreadData } from './call-thread.js';

const port = parentPort;
if (!port) throw new Error('call-thread-worker.ts runs as a worker thread');
const reply = (message: CallReply): void => port.postMessage(message);
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

try {
  const { fn } = await bindFunctions((workerData as CallThreadData).library, THREAD_FUNCTION_NAMES);
  port.on('message', ({ id, name, args }: CallRequest) => {
    try {
      const result = fn[name](...args);
      // What the call wrote into its output arrays travels back; its inputs need not.
      reply({ type: 'result', id, result, filled: outputArrays(name, args) });
    } catch (error) {
      reply({ type: 'error', id, message: messageOf(error) });
    }
  });
  reply({ type: 'ready' });
} catch (error) {
  reply({ type: 'unavailable', message: messageOf(error) });
}
