import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../../worker-thread.js';
import type { CFunction, FunctionName, OrtCApi } from './c-api.js';

/**
 * The functions a session's call thread makes — those that take long (creating the session, running it) — each with
 * the positions of its `_Out_` / `_Inout_` arguments, the arrays the call fills and the thread sends back.
 */
export const THREAD_FUNCTIONS = Object.freeze({
  CreateSession: [3],
  CreateSessionFromArray: [4],
  Run: [7],
  RunWithBinding: [],
} as const satisfies Partial<Record<FunctionName, readonly number[]>>);

/** A function of {@link THREAD_FUNCTIONS}. */
export type ThreadFunction = keyof typeof THREAD_FUNCTIONS;

/** The arrays among `args` that a call of `name` fills (its {@link THREAD_FUNCTIONS} positions), in that order. */
export function outputArrays(name: ThreadFunction, args: readonly unknown[]): unknown[][] {
  return THREAD_FUNCTIONS[name].map((position) => args[position]).filter((arg): arg is unknown[] => Array.isArray(arg));
}

/** The names of {@link THREAD_FUNCTIONS}. */
export const THREAD_FUNCTION_NAMES = Object.keys(THREAD_FUNCTIONS) as ThreadFunction[];

/**
 * A call of a {@link ThreadFunction} by name: its result once made; the `_Out_` / `_Inout_` arrays among the
 * arguments are filled as a direct call fills them.
 */
export type NativeCall = (name: ThreadFunction, ...args: unknown[]) => Promise<unknown>;

/** What the pipeline's thread sends its call thread: one call. */
export interface CallRequest {
  readonly id: number;
  readonly name: ThreadFunction;
  readonly args: readonly unknown[];
}

/** What a call thread answers: ready (or not) once it has bound the functions, then each call's outcome. */
export type CallReply =
  | { readonly type: 'ready' }
  | { readonly type: 'unavailable'; readonly message: string }
  /** `filled`: the call's output arrays, in the order of its {@link THREAD_FUNCTIONS} positions. */
  | { readonly type: 'result'; readonly id: number; readonly result: unknown; readonly filled: readonly unknown[][] }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

/** The data a call thread starts with. */
export interface CallThreadData {
  readonly library: string;
}

interface Pending {
  /** The caller's output arrays, filled from the thread's copies. */
  readonly outputs: readonly unknown[][];
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** The call thread started in advance for the next session, per library (see {@link CallThread.take}). */
const spares = new Map<string, Promise<CallThread>>();

/**
 * A thread of its own for one session's slow calls, each made synchronously there, one at a time. koffi's own
 * asynchronous calls run on any of libuv's pool threads, and ONNX Runtime's CUDA provider keeps state per calling
 * thread (cuBLAS and cuDNN handles and workspaces, the captured CUDA graphs): a session called from four threads set
 * all of that up four times — the first job after the warm-up ran ~2 s slower and the process took 0.5–0.7 GiB more on
 * the GPU host. On one thread the warm-up sets it up once. The calls also no longer wait behind file-system and
 * compression work queued on libuv's pool.
 */
export class CallThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  /** The outcome of every call not yet settled. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #nextId = 1;
  /** Why the thread cannot take calls any more (it stopped), once it cannot. */
  #stopped: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (reply: CallReply) => this.#settle(reply));
    worker.on('error', (error) => this.#stop(error));
    worker.on('exit', (code) => this.#stop(new Error(`the native bridge's call thread stopped (exit code ${code})`)));
    // An idle call thread does not keep the process alive; a call in flight does (see `call`).
    worker.unref();
  }

  /**
   * Starts a call thread binding `api`'s library.
   * @throws Error saying why when the thread cannot start or bind the library.
   */
  static async start(api: Pick<OrtCApi, 'library'>): Promise<CallThread> {
    const worker = startWorker(new URL('./call-thread-worker.js', import.meta.url), { library: api.library } satisfies CallThreadData);
    const first = await new Promise<CallReply | Error>((resolve) => {
      worker.once('message', resolve);
      worker.once('error', resolve);
      worker.once('exit', (code) => resolve(new Error(`it stopped (exit code ${code}) before it was ready`)));
    });
    if (first instanceof Error || first.type !== 'ready') {
      await worker.terminate();
      const reason = first instanceof Error ? first.message : first.type === 'unavailable' ? first.message : `unexpected ${first.type}`;
      throw new Error(`the native bridge's call thread cannot start: ${reason}`);
    }
    return new CallThread(worker);
  }

  /**
   * A started call thread for a new session of `api`'s library: the one started in advance at the previous take,
   * while the next is started now. A model's sessions are created one after another, each taking a while, so each
   * but the first finds its thread ready: a thread takes ~20–80 ms to start from the build, ~0.3–1 s under tsx.
   * @throws Error saying why when the thread cannot start (see {@link start}).
   */
  static take(api: Pick<OrtCApi, 'library'>): Promise<CallThread> {
    const ready = spares.get(api.library) ?? CallThread.start(api);
    const next = CallThread.start(api);
    // Its failure, if any, reaches the session that takes it; until then it must not count as unhandled.
    next.catch(() => undefined);
    spares.set(api.library, next);
    return ready;
  }

  /**
   * Starts the thread the first session of `api`'s library will take, and waits for it: the bridge is usable only
   * where a call thread can start (the caller falls back to the binding, with its log line, when this throws).
   * @throws Error saying why the thread cannot start.
   */
  static async prime(api: Pick<OrtCApi, 'library'>): Promise<void> {
    const first = CallThread.start(api);
    spares.set(api.library, first);
    await first;
  }

  /** Stops the threads started in advance (a factory's sessions are all released); the next take starts anew. */
  static async releaseSpares(): Promise<void> {
    const started = [...spares.values()];
    spares.clear();
    const threads = await Promise.allSettled(started);
    await Promise.all(threads.flatMap((thread) => (thread.status === 'fulfilled' ? [thread.value.close()] : [])));
  }

  /** Makes the call `name(...args)` on the thread (see {@link NativeCall}). */
  readonly call: NativeCall = (name, ...args) => {
    if (this.#stopped) return Promise.reject(this.#stopped);
    const id = this.#nextId++;
    if (this.#pending.size === 0) this.#worker.ref();
    const outputs = outputArrays(name, args);
    const done = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { outputs, resolve, reject }));
    this.#worker.postMessage({ id, name, args } satisfies CallRequest);
    this.#inFlight.add(done);
    const forget = (): void => void this.#inFlight.delete(done);
    done.then(forget, forget);
    return done;
  };

  /** Resolves once every call made so far has its outcome (what the session's release waits for). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#inFlight);
  }

  /** Stops the thread once its calls are made. */
  async close(): Promise<void> {
    await this.settled();
    await this.#worker.terminate();
  }

  #settle(reply: CallReply): void {
    if (reply.type !== 'result' && reply.type !== 'error') return;
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (reply.type === 'error') {
      pending.reject(new Error(reply.message));
      return;
    }
    // The thread filled its copies of the output arrays: fill the caller's.
    for (const [i, output] of pending.outputs.entries()) output.splice(0, output.length, ...(reply.filled[i] ?? []));
    pending.resolve(reply.result);
  }

  #stop(error: Error): void {
    this.#stopped ??= error;
    for (const { reject } of this.#pending.values()) reject(this.#stopped);
    this.#pending.clear();
  }
}

/** Calls made synchronously on the calling thread, for the short ones (a one-node copy model's session). */
export function callHere(api: { readonly fn: Readonly<Record<ThreadFunction, CFunction>> }): NativeCall {
  return (name, ...args) => Promise.resolve().then(() => api.fn[name](...args));
}
