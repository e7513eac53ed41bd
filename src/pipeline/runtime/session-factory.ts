import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { arch, cpus } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { InferenceSession, env } from 'onnxruntime-node';
import { PipelineError } from '../errors.js';
import type { PipelineLogger } from '../logger.js';
import { BindingSession } from './binding-session.js';
import {
  bridgesProvider,
  CUDA_OPTIONS,
  DEFAULT_CUDA_GRAPHS,
  DEFAULT_NATIVE_BRIDGE,
  loadNativeBridge,
  unbridgedReason,
  type CudaGraphChoice,
  type NativeBridgeChoice,
} from './native/bridge.js';
import type { OrtCApi } from './native/c-api.js';
import { CallThread } from './native/call-thread.js';
import { createNativeSession } from './native/native-session.js';
import { providerCandidates, type ExecutionProvider, type ExecutionProviderChoice } from './providers.js';
import type { SessionBackend } from './session-backend.js';
import { ModelSession } from './session.js';

/**
 * ORT's idle CPU threads otherwise spin after each run, starving the JavaScript thread (scheduler, Discord) of
 * the cores it needs between runs: with spinning, UNet and scheduler steps measured 2–3× slower on a busy
 * 2-core host.
 */
const NO_SPINNING = { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } as const;

/**
 * Session configuration entries (`extra.session`) for `provider`: no spinning everywhere; on CUDA the weights are
 * allocated as they are rather than through the memory arena, which grows in powers of two and would keep up to
 * twice the UNet's 1.7 GB of fp16 weights (onnxruntime-node passes no CUDA provider options but these entries).
 */
function sessionConfig(provider: ExecutionProvider): Record<string, unknown> {
  return provider === 'cuda' ? { ...NO_SPINNING, use_device_allocator_for_initializers: '1' } : { ...NO_SPINNING };
}

/** Nested configuration entries as ONNX Runtime names them: `{ session: { a: { b: '0' } } }` → `session.a.b`. */
function flatten(entries: Readonly<Record<string, unknown>>, prefix = ''): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries)) {
    if (typeof value === 'object' && value !== null) Object.assign(flat, flatten(value as Record<string, unknown>, `${prefix}${key}.`));
    else flat[`${prefix}${key}`] = String(value);
  }
  return flat;
}

/** Which binding runs a session, and why (the `model loaded` line of the log says both). */
interface Opened {
  readonly session: SessionBackend;
  /** `native bridge` (ONNX Runtime's C API through koffi) or `onnxruntime-node` (its own binding). */
  readonly binding: 'native bridge' | 'onnxruntime-node';
  readonly why: string;
}

/** How `SessionFactory.#open` opens a session. */
interface OpenHow {
  /** Session configuration entries (`extra.session`). */
  readonly config: Record<string, unknown>;
  readonly graphs: CudaGraphChoice;
  /** Where to save ONNX Runtime's optimized graph. */
  readonly optimizedModelFilePath?: string | undefined;
  /** The model's external data file from memory (merged LoRA weights) rather than beside it. */
  readonly externalData?: { readonly path: string; readonly data: Uint8Array } | undefined;
}

/** How a {@link SessionFactory} creates sessions. */
export interface SessionFactoryOptions {
  /**
   * Where models run. `auto` tries {@link providerCandidates} in order and keeps the first that loads;
   * an explicit provider that cannot load fails with `PROVIDER_UNAVAILABLE`.
   * @default 'auto'
   */
  readonly provider?: ExecutionProviderChoice;
  /**
   * A folder for optimized graphs. When set, the first load of a model saves ONNX Runtime's optimized graph
   * there and later loads start from it, which cuts start-up time. Entries are keyed by the model file (path,
   * size, modification time), the provider, the ONNX Runtime version and the CPU, so a stale entry is never used.
   * @default undefined (no cache)
   */
  readonly cacheDir?: string;
  /** Receives which provider each model loaded on, load times and fallbacks. */
  readonly log?: PipelineLogger;
  /**
   * Where sessions are created through the native bridge to ONNX Runtime's C API (`native/`), which passes the
   * CUDA provider {@link SessionFactoryOptions.cudaOptions}; where it cannot load, the plain binding runs instead,
   * with one log line. See {@link NativeBridgeChoice}; off unless asked for (see DEFAULT_NATIVE_BRIDGE for why).
   * @default DEFAULT_NATIVE_BRIDGE ('off')
   */
  readonly nativeBridge?: NativeBridgeChoice;
  /**
   * CUDA provider options V2 for sessions the bridge creates, over {@link CUDA_OPTIONS} (a value of `''` removes
   * one of those: the benchmark measures each alone).
   * @default {}
   */
  readonly cudaOptions?: Readonly<Record<string, string>>;
  /**
   * Whether sessions the bridge creates run calls fed a constant tensor (a job's UNet steps) through ONNX Runtime's
   * IoBinding (`native/io-binding.ts`). @default true
   */
  readonly ioBinding?: boolean;
  /**
   * CUDA graphs for the models loaded with `{ cudaGraph: true }` (the UNet): created through the bridge on CUDA with
   * `enable_cuda_graph`, their runs fed a constant tensor (a job's steps) run on buffers kept on the GPU, one graph
   * captured per shape (at most `MAX_SHAPES`) and replayed (`native/device-runs.ts`). Where ONNX Runtime refuses
   * graphs for a model it runs without, with a warning; where graphs cannot be at all (the bridge off or not loading,
   * another provider) `on` says so in the log and `auto` runs without a word. See {@link CudaGraphChoice}.
   * @default DEFAULT_CUDA_GRAPHS ('off')
   */
  readonly cudaGraph?: CudaGraphChoice;
  /** @internal Loads the bridge (tests give one that fails, as where koffi or the library is missing). */
  readonly loadBridge?: () => Promise<OrtCApi | Error>;
}

/**
 * Creates {@link ModelSession}s for one pipeline: picks the execution provider, creates each file's session
 * once (a second `load` of the same file returns the same session), and remembers providers that failed so
 * that `auto` does not retry them for every component.
 */
export class SessionFactory {
  readonly #choice: ExecutionProviderChoice;
  readonly #cacheDir: string | undefined;
  readonly #log: PipelineLogger | undefined;
  readonly #bridge: NativeBridgeChoice;
  readonly #cudaOptions: Readonly<Record<string, string>>;
  readonly #ioBinding: boolean;
  readonly #cudaGraph: CudaGraphChoice;
  readonly #loadBridge: () => Promise<OrtCApi | Error>;
  readonly #sessions = new Map<string, Promise<ModelSession>>();
  readonly #unavailable = new Set<ExecutionProvider>();
  #bridgeFailureLogged = false;
  /** Whether sessions of this factory went through the bridge (its release then stops the spare call thread). */
  #bridged = false;

  constructor(options: SessionFactoryOptions = {}) {
    this.#choice = options.provider ?? 'auto';
    this.#cacheDir = options.cacheDir;
    this.#log = options.log;
    this.#bridge = options.nativeBridge ?? DEFAULT_NATIVE_BRIDGE;
    this.#loadBridge = options.loadBridge ?? loadNativeBridge;
    this.#ioBinding = options.ioBinding ?? true;
    this.#cudaGraph = options.cudaGraph ?? DEFAULT_CUDA_GRAPHS;
    const cudaOptions = { ...CUDA_OPTIONS, ...options.cudaOptions };
    this.#cudaOptions = Object.fromEntries(Object.entries(cudaOptions).filter(([, value]) => value !== ''));
  }

  /**
   * The session of the ONNX model at `file` (external weights such as `model.onnx_data` or `weights.pb` are
   * read from the same folder). Graph optimization level `all`.
   * `cudaGraph` marks a model whose runs may be CUDA graphs (see {@link SessionFactoryOptions.cudaGraph}), or says why
   * this one cannot be (the log says so where graphs are `on`).
   * @throws PipelineError `MODEL_MISSING_FILE` (the file or its external data is absent), `MODEL_CORRUPT` (not a
   *   readable ONNX model), `MODEL_UNSUPPORTED` (ONNX Runtime cannot run it), `PROVIDER_UNAVAILABLE`.
   */
  load(file: string, { cudaGraph = false }: { readonly cudaGraph?: boolean | { readonly refused: string } } = {}): Promise<ModelSession> {
    if (!existsSync(file)) {
      return Promise.reject(new PipelineError('MODEL_MISSING_FILE', `Model file not found: ${file}`, { file }));
    }
    const key = realpathSync(file);
    let session = this.#sessions.get(key);
    if (!session) {
      if (typeof cudaGraph === 'object' && this.#cudaGraph === 'on') {
        this.#log?.('warn', `CUDA graphs ${cudaGraph.refused}; this model runs without them`, { file });
      }
      session = this.#create(file, cudaGraph === true ? this.#cudaGraph : 'off');
      this.#sessions.set(key, session);
      // A failed load must not poison later attempts (the file may be fixed and loaded again).
      session.catch(() => this.#sessions.delete(key));
    }
    return session;
  }

  /**
   * A new session of `file` with its external data file (`model.onnx_data`) replaced by `data` (the same layout,
   * other values: merged LoRA weights), on `provider`. Not kept by the factory: the caller releases it.
   * @throws PipelineError `MODEL_UNSUPPORTED` when ONNX Runtime cannot create it.
   */
  async loadWithWeights(file: string, data: Uint8Array, provider: ExecutionProvider): Promise<ModelSession> {
    const start = performance.now();
    try {
      const externalData = { path: `${basename(file)}_data`, data };
      const { session, binding, why } = await this.#open(file, provider, { config: sessionConfig(provider), graphs: 'off', externalData });
      this.#log?.('info', 'model loaded with merged weights', { file, provider, binding, why, ms: Math.round(performance.now() - start) });
      return new ModelSession(session, file, provider);
    } catch (error) {
      const reason = `ONNX Runtime cannot load ${file} with merged weights: ${errorMessage(error)}`;
      throw new PipelineError('MODEL_UNSUPPORTED', reason, { file, provider }, { cause: error });
    }
  }

  /** Releases every session created so far. */
  async releaseAll(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    const settled = await Promise.allSettled(sessions);
    const loaded = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    await Promise.all(loaded.map((session) => session.release()));
    // The thread started in advance for a next session would otherwise idle on (see CallThread.take).
    if (this.#bridged) await CallThread.releaseSpares();
  }

  async #create(file: string, graphs: CudaGraphChoice): Promise<ModelSession> {
    const candidates = providerCandidates(this.#choice).filter((p) => !this.#unavailable.has(p));
    for (const provider of candidates) {
      const start = performance.now();
      try {
        const { session, binding, why, cached } = await this.#createOn(file, provider, graphs);
        const ms = Math.round(performance.now() - start);
        this.#log?.('info', 'model loaded', { file, provider, binding, why, ms, cached });
        return new ModelSession(session, file, provider);
      } catch (error) {
        const failure = classifyLoadError(error, file, provider, this.#choice);
        if (failure) throw failure;
        this.#unavailable.add(provider);
        this.#log?.('info', 'execution provider unavailable, trying the next', {
          file,
          provider,
          reason: errorMessage(error),
        });
      }
    }
    // Unreachable in practice: `auto` ends with the CPU, whose failures are classified above.
    throw new PipelineError('PROVIDER_UNAVAILABLE', `No execution provider could load ${file}`, { file });
  }

  async #createOn(file: string, provider: ExecutionProvider, graphs: CudaGraphChoice): Promise<Opened & { cached: boolean }> {
    const config = sessionConfig(provider);
    const open = (source: string, entries: Record<string, unknown>, optimizedModelFilePath?: string): Promise<Opened> =>
      this.#open(source, provider, { config: entries, graphs, optimizedModelFilePath });
    if (this.#cacheDir === undefined) return { ...(await open(file, config)), cached: false };

    const cachedFile = join(this.#cacheDir, cacheName(file, provider));
    if (existsSync(cachedFile)) {
      try {
        return { ...(await open(cachedFile, config)), cached: true };
      } catch (error) {
        // A half-written entry (crash while saving): rebuild it from the original below.
        this.#log?.('warn', 'optimized graph cache entry unreadable, rebuilding it', {
          file: cachedFile,
          reason: errorMessage(error),
        });
      }
    }
    mkdirSync(this.#cacheDir, { recursive: true });
    try {
      // Weights go to a side file: UNets exceed protobuf's 2 GB limit.
      const cacheConfig = {
        ...config,
        optimized_model_external_initializers_file_name: `${basename(cachedFile)}.data`,
        optimized_model_external_initializers_min_size_in_bytes: '1024',
      };
      return { ...(await open(file, cacheConfig, cachedFile)), cached: false };
    } catch (cacheError) {
      // Some providers cannot serialize their graphs: run uncached rather than not at all. A broken model
      // fails again here, with its own error.
      const opened = await open(file, config);
      this.#log?.('warn', 'cannot cache the optimized graph; loaded without the cache', {
        file,
        provider,
        reason: errorMessage(cacheError),
      });
      return { ...opened, cached: false };
    }
  }

  /**
   * A session of `file` on `provider` (see {@link OpenHow}): through the native bridge where {@link
   * SessionFactoryOptions.nativeBridge} asks for it and the bridge loads, else through onnxruntime-node's binding;
   * with CUDA graphs where `graphs` asks for them and they can be.
   */
  async #open(file: string, provider: ExecutionProvider, { config, graphs, optimizedModelFilePath, externalData }: OpenHow): Promise<Opened> {
    const bridged = bridgesProvider(this.#bridge, provider);
    const api = bridged ? await this.#nativeApi() : undefined;
    if (graphs === 'on' && (api === undefined || provider !== 'cuda')) {
      const binding = api === undefined ? 'onnxruntime-node' : 'native bridge';
      this.#log?.('warn', 'CUDA graphs need the CUDA provider through the native bridge; this model runs without them', { file, provider, binding });
    }
    if (api !== undefined && (provider === 'cuda' || provider === 'cpu')) {
      const options = {
        provider,
        config: flatten({ session: config }),
        cudaOptions: this.#cudaOptions,
        ioBinding: this.#ioBinding,
        ...(this.#log ? { log: this.#log } : {}),
        ...(optimizedModelFilePath === undefined ? {} : { optimizedModelFilePath }),
        ...(externalData === undefined ? {} : { externalData }),
      };
      const why = `the native bridge (${this.#bridge}) covers ${provider}`;
      if (graphs !== 'off' && provider === 'cuda') {
        try {
          return { session: await createNativeSession(api, file, { ...options, cudaGraphs: true }), binding: 'native bridge', why: `${why}, with CUDA graphs` };
        } catch (error) {
          this.#log?.('warn', 'ONNX Runtime refuses CUDA graphs for this model; it runs without them', { file, reason: errorMessage(error) });
        }
      }
      return { session: await createNativeSession(api, file, options), binding: 'native bridge', why };
    }
    const options: InferenceSession.SessionOptions = {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
      // ORT warns on stderr about things we handle (e.g. saving a hardware-specific graph); keep errors only.
      logSeverityLevel: 3,
      extra: { session: config },
      ...(optimizedModelFilePath === undefined ? {} : { optimizedModelFilePath }),
    };
    const session =
      externalData === undefined
        ? await InferenceSession.create(file, options)
        : await InferenceSession.create(await readFile(file), { ...options, externalData: [externalData] });
    const why = bridged ? 'the native bridge cannot load here (see its warning)' : unbridgedReason(this.#bridge, provider);
    return { session: new BindingSession(session, file), binding: 'onnxruntime-node', why };
  }

  /** The bridge's C API, or undefined (said once per factory in the log) when it cannot load here. */
  async #nativeApi(): Promise<OrtCApi | undefined> {
    const api = await this.#loadBridge();
    if (!(api instanceof Error)) {
      this.#bridged = true;
      return api;
    }
    if (!this.#bridgeFailureLogged) {
      this.#bridgeFailureLogged = true;
      this.#log?.('warn', 'native ONNX Runtime bridge unavailable; using onnxruntime-node as it is', { reason: api.message });
    }
    return undefined;
  }
}

/**
 * The cache file name for `file` on `provider`: the component folder's name (`unet`) and a hash of everything
 * the optimized graph depends on.
 */
function cacheName(file: string, provider: ExecutionProvider): string {
  const stat = statSync(file);
  const machine = [env.versions.node, arch(), cpus()[0]?.model ?? ''];
  const key = [realpathSync(file), stat.size, stat.mtimeMs, provider, ...machine];
  const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  return `${basename(dirname(file))}-${provider}-${hash}.onnx`;
}

/**
 * The error to report for a failed session creation, or undefined when the failure is the provider's and
 * `auto` should try the next one.
 */
function classifyLoadError(
  error: unknown,
  file: string,
  provider: ExecutionProvider,
  choice: ExecutionProviderChoice,
): PipelineError | undefined {
  const message = errorMessage(error);
  const missing = /External data path does not exist: "([^"]+)"/.exec(message);
  if (missing) {
    return new PipelineError(
      'MODEL_MISSING_FILE',
      `External weights of ${file} not found: ${missing[1] ?? ''}`,
      { file: missing[1] ?? file },
      { cause: error },
    );
  }
  if (/Protobuf parsing failed|INVALID_PROTOBUF|Deserialize tensor|out of bounds|ModelProto|No graph/i.test(message)) {
    const reason = `${file} is not a readable ONNX model: ${message}`;
    return new PipelineError('MODEL_CORRUPT', reason, { file }, { cause: error });
  }
  if (provider === 'cpu') {
    const reason = `ONNX Runtime cannot load ${file}: ${message}`;
    return new PipelineError('MODEL_UNSUPPORTED', reason, { file }, { cause: error });
  }
  if (choice !== 'auto') {
    return new PipelineError(
      'PROVIDER_UNAVAILABLE',
      `The ${provider} execution provider cannot load ${file} on this machine: ${message}`,
      { file, provider },
      { cause: error },
    );
  }
  return undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
