import type { Worker } from 'node:worker_threads';
import type { Rgb8Image } from '../pipeline/index.js';
import { startWorker } from '../worker-thread.js';
import type { ClassifierWorkerOptions, FromClassifier, ToClassifier } from './classifier-protocol.js';
import type { Classification } from './scores.js';

/** Classifies pictures; every failure comes back as a `Classification` without scores, never as a throw. */
export interface ContentClassifier {
  /** False when the model could not be loaded: then every picture comes back without scores (so, flagged). */
  readonly available: boolean;
  classify(image: Rgb8Image): Promise<Classification>;
  close(): Promise<void>;
}

export interface ClassifierOptions extends ClassifierWorkerOptions {
  /** A classification that takes longer counts as failed (so, flagged). @default 10000 */
  readonly timeoutMs?: number;
}

export type ClassifierLog = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>) => void;

const DEFAULT_TIMEOUT_MS = 10_000;

interface Pending {
  readonly resolve: (classification: Classification) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The content classifier on its own worker thread. A worker that crashes or hangs (a classification past the
 * timeout) is replaced; the pictures it held come back failed. If the model cannot be loaded, the classifier stays
 * unavailable for the life of the process and says so (`available`), and every picture comes back failed.
 */
export class WorkerClassifier implements ContentClassifier {
  readonly #options: ClassifierOptions;
  readonly #log: ClassifierLog;
  readonly #pending = new Map<number, Pending>();
  /** The worker, once its model is loaded; undefined while unavailable. */
  #worker: Promise<Worker | undefined>;
  /** The worker in use, once ready: a crash and a timeout of the same worker replace it only once. */
  #current: Worker | undefined;
  #available = true;
  #unavailable = '';
  #nextId = 1;
  #closed = false;

  private constructor(options: ClassifierOptions, log: ClassifierLog) {
    this.#options = options;
    this.#log = log;
    this.#worker = this.#spawn();
  }

  /** Starts the worker and waits for its model; never rejects (see `available`). */
  static async start(options: ClassifierOptions, log: ClassifierLog): Promise<WorkerClassifier> {
    const classifier = new WorkerClassifier(options, log);
    await classifier.#worker;
    return classifier;
  }

  get available(): boolean {
    return this.#available;
  }

  async classify(image: Rgb8Image): Promise<Classification> {
    const worker = await this.#worker;
    if (!worker || this.#closed) return { ok: false, reason: 'unavailable', message: this.#unavailable || 'The content classifier was stopped.' };
    const id = this.#nextId++;
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve({ ok: false, reason: 'timeout', message: `The content classifier took more than ${timeoutMs} ms.` });
        // A worker stuck in one classification would hold every later one: it is replaced.
        this.#log('warn', 'a classification timed out; restarting the content classifier', { timeoutMs });
        void this.#replace(worker);
      }, timeoutMs);
      this.#pending.set(id, { resolve, timer });
      worker.postMessage({ type: 'classify', id, image } satisfies ToClassifier);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll('The content classifier was stopped.');
    await (await this.#worker)?.terminate();
  }

  /** Starts a worker; resolves to it once its model is loaded, or to undefined (unavailable) if loading fails. */
  #spawn(): Promise<Worker | undefined> {
    const started = Date.now();
    const worker = startWorker(new URL('./classifier-worker.js', import.meta.url), { modelDir: this.#options.modelDir } satisfies ClassifierWorkerOptions);
    return new Promise((resolve) => {
      const settle = () => {
        worker.off('message', onReady);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const fail = (message: string) => {
        settle();
        this.#available = false;
        this.#unavailable = message;
        this.#log('error', 'the content classifier could not load; every picture counts as flagged', { error: message });
        void worker.terminate();
        resolve(undefined);
      };
      const onError = (error: Error) => fail(error.message);
      const onExit = (code: number) => fail(`The content classifier's worker exited with code ${code} while loading.`);
      const onReady = (message: FromClassifier) => {
        settle();
        if (message.type === 'failed') return fail(message.message);
        if (message.type !== 'ready') return fail(`The content classifier's worker sent "${message.type}" before it was ready.`);
        this.#log('info', 'content classifier loaded', { model: message.model, loadMs: Date.now() - started });
        this.#attach(worker);
        this.#current = worker;
        this.#available = true;
        resolve(worker);
      };
      worker.on('message', onReady);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  #attach(worker: Worker): void {
    worker.on('message', (message: FromClassifier) => {
      if (message.type !== 'result' && message.type !== 'error') return;
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.type === 'result') pending.resolve({ ok: true, scores: message.scores });
      else pending.resolve({ ok: false, reason: 'error', message: message.message });
    });
    worker.on('error', (error) => this.#log('error', 'the content classifier failed', { err: error }));
    worker.on('exit', (code) => {
      // A worker this class replaced (after a timeout) or stopped exits too: only the one in use is news.
      if (this.#closed || this.#current !== worker) return;
      this.#log('error', 'the content classifier stopped; restarting it', { code });
      void this.#replace(worker);
    });
  }

  /** Replaces `worker` (crashed or stuck) by a fresh one, unless that already happened; its pictures fail. */
  async #replace(worker: Worker): Promise<void> {
    if (this.#current !== worker || this.#closed) return;
    this.#current = undefined;
    this.#failAll('The content classifier stopped while it classified this picture.');
    this.#worker = this.#spawn();
    await worker.terminate();
  }

  #failAll(message: string): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.resolve({ ok: false, reason: 'error', message });
    }
    this.#pending.clear();
  }
}
