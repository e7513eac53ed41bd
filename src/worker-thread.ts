import { Worker } from 'node:worker_threads';

/**
 * Starts the worker thread whose entry is `entry` (a `.js` URL next to the caller in the build): the compiled file,
 * or under tsx (tests, development) its TypeScript source, which needs tsx registered inside the worker first. Both
 * of the bot's threads (the pipeline's and the content classifier's) start here.
 */
export function startWorker(entry: URL, workerData: unknown): Worker {
  const typescript = import.meta.url.endsWith('.ts');
  if (!typescript) return new Worker(entry, { workerData });
  const source = new URL(entry.href.replace(/\.js$/, '.ts'));
  // Resolved here, where tsx is installed: the worker's own resolution starts from the working directory.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
