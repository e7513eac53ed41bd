import { check, LOG_ERROR, type Handle, type OrtCApi } from './c-api.js';
import type { NativeCall } from './call-thread.js';

/** How {@link openSession} creates a session. */
export interface OpenOptions {
  /** `cuda` appends the CUDA provider with {@link OpenOptions.cudaOptions}; `cpu` uses ONNX Runtime's own. */
  readonly provider: 'cpu' | 'cuda';
  /** Session configuration entries (`session.use_device_allocator_for_initializers` …), as the plain binding's `extra`. */
  readonly config: Readonly<Record<string, string>>;
  /** CUDA provider options V2 by name (`cudnn_conv_algo_search` …), for `cuda`. */
  readonly cudaOptions?: Readonly<Record<string, string>>;
  /** Where to save ONNX Runtime's optimized graph, as the plain binding's `optimizedModelFilePath`. */
  readonly optimizedModelFilePath?: string;
  /**
   * The model's external data file named `path` (`model.onnx_data`) taken from `data` rather than read beside the
   * model (merged LoRA weights), as the plain binding's `externalData`: ONNX Runtime reads the weights from `data`
   * while it creates the session.
   */
  readonly externalData?: { readonly path: string; readonly data: Uint8Array };
}

/** `ORT_ENABLE_ALL`, the plain binding's `graphOptimizationLevel: 'all'`. */
const OPTIMIZE_ALL = 99;

/**
 * A session (`OrtSession`) of the ONNX model in the file `source`, or of the model bytes `source`, through the C API,
 * created by `call` (on the thread that will run it).
 * @throws Error with ONNX Runtime's message when it cannot (the same messages the plain binding gives).
 */
export async function openSession(api: OrtCApi, call: NativeCall, source: string | Uint8Array, options: OpenOptions): Promise<Handle> {
  const { fn } = api;
  const out = [null];
  check(api, fn.CreateSessionOptions(out));
  const sessionOptions = out[0];
  try {
    check(api, fn.SetSessionGraphOptimizationLevel(sessionOptions, OPTIMIZE_ALL));
    check(api, fn.SetSessionLogSeverityLevel(sessionOptions, LOG_ERROR));
    for (const [key, value] of Object.entries(options.config)) {
      check(api, fn.AddSessionConfigEntry(sessionOptions, key, value));
    }
    if (options.optimizedModelFilePath !== undefined) {
      check(api, fn.SetOptimizedModelFilePath(sessionOptions, options.optimizedModelFilePath));
    }
    const { externalData } = options;
    if (externalData !== undefined) {
      const { path, data } = externalData;
      check(api, fn.AddExternalInitializersFromFilesInMemory(sessionOptions, [path], [data], [data.byteLength], 1));
    }
    if (options.provider === 'cuda') appendCuda(api, sessionOptions, options.cudaOptions ?? {});
    const session = [null];
    const status =
      typeof source === 'string'
        ? await call('CreateSession', api.env, source, sessionOptions, session)
        : await call('CreateSessionFromArray', api.env, source, source.length, sessionOptions, session);
    check(api, status);
    return session[0];
  } finally {
    fn.ReleaseSessionOptions(sessionOptions);
  }
}

function appendCuda(api: OrtCApi, sessionOptions: Handle, cudaOptions: Readonly<Record<string, string>>): void {
  const out = [null];
  check(api, api.fn.CreateCUDAProviderOptions(out));
  try {
    const keys = Object.keys(cudaOptions);
    check(api, api.fn.UpdateCUDAProviderOptions(out[0], keys, Object.values(cudaOptions), keys.length));
    check(api, api.fn.SessionOptionsAppendExecutionProvider_CUDA_V2(sessionOptions, out[0]));
  } finally {
    api.fn.ReleaseCUDAProviderOptions(out[0]);
  }
}
