// The pipeline's own thread. ONNX Runtime's `session.run` blocks the thread it runs on for the whole model call
// (seconds per step on a CPU), so the pipeline runs here and the main thread stays free to acknowledge Discord
// interactions within 3 s. Messages: see worker-protocol.ts.
import { parentPort, workerData } from 'node:worker_threads';
import type { GenerateOptions } from './generator.js';
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
    ...(options.nativeBridge ? { nativeBridge: options.nativeBridge } : {}),
    ...(options.cudaGraph ? { cudaGraph: options.cudaGraph } : {}),
    inpaintModelDir: options.inpaintModelDir,
    embeddingsDir: options.embeddingsDir,
    loraDir: options.loraDir,
    modelLabels: options.modelLabels,
    schedulerOverrides: options.schedulerOverrides,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    log: (level, message, fields) => post({ type: 'log', level, message, fields: { ...fields } }),
  });
  port.on('message', (message: ToWorker) => {
    if (message.type === 'abort') {
      running.get(message.id)?.abort(new DOMException(message.reason, 'AbortError'));
      return;
    }
    const jobs = message.type === 'generate' ? [message.job] : message.jobs;
    const runs = jobs.map(({ id, request, inputs }) => {
      const controller = new AbortController();
      running.set(id, controller);
      const options: GenerateOptions = {
        signal: controller.signal,
        onProgress: (step, total, preview) => post({ type: 'progress', id, step, total, preview }),
        inputs,
      };
      return { request, options };
    });
    const results = message.type === 'generate' ? runs.map(({ request, options }) => generator.generate(request, options)) : generator.generateBatch(runs, message.maxRows);
    results.forEach((result, i) => {
      const id = jobs[i]?.id ?? -1;
      result
        .then(
          (images) => post({ type: 'result', id, result: images }, images.images.map(({ image }) => image.data.buffer as ArrayBuffer)),
          (error: unknown) => post({ type: 'error', id, error: serializeError(error) }),
        )
        .finally(() => running.delete(id));
    });
  });
  const { modelName, family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig } = generator;
  const providers = { ...generator.providers };
  post({ type: 'ready', modelName, family, nativeSize, sizeBuckets, maxClipSkip, schedulerConfig, providers });
} catch (error) {
  post({ type: 'failed', error: serializeError(error) });
}
