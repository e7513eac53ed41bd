// The pipeline's own thread. ONNX Runtime's `session.run` blocks the thread it runs on for the whole model call
// (seconds per step on a CPU), so the pipeline runs here and the main thread stays free to acknowledge Discord
// interactions within 3 s. Messages: see worker-protocol.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { StableDiffusionGenerator } from './sd-generator.js';
import { serializeError, type FromWorker, type ToWorker, type WorkerOptions } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('generator-worker.ts runs as a worker thread only.');
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const options = workerData as WorkerOptions;
const running = new Map<number, AbortController>();

try {
  const generator = await StableDiffusionGenerator.load(options.modelDir, {
    provider: options.provider,
    inpaintModelDir: options.inpaintModelDir,
    embeddingsDir: options.embeddingsDir,
    loraDir: options.loraDir,
    modelLabels: options.modelLabels,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    log: (level, message, fields) => post({ type: 'log', level, message, fields: { ...fields } }),
  });
  port.on('message', (message: ToWorker) => {
    if (message.type === 'abort') {
      running.get(message.id)?.abort(new DOMException(message.reason, 'AbortError'));
      return;
    }
    const controller = new AbortController();
    running.set(message.id, controller);
    generator
      .generate(message.request, {
        signal: controller.signal,
        onProgress: (step, total, preview) => post({ type: 'progress', id: message.id, step, total, preview }),
        inputs: message.inputs,
      })
      .then(
        (result) => {
          const buffers = result.images.map(({ image }) => image.data.buffer as ArrayBuffer);
          post({ type: 'result', id: message.id, result }, buffers);
        },
        (error: unknown) => post({ type: 'error', id: message.id, error: serializeError(error) }),
      )
      .finally(() => running.delete(message.id));
  });
  const { modelName, family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig } = generator;
  const providers = { ...generator.providers };
  post({ type: 'ready', modelName, family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig, providers });
} catch (error) {
  post({ type: 'failed', error: serializeError(error) });
}
