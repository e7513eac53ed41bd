import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Koffi from 'koffi';

/**
 * The few functions of ONNX Runtime's C API (`OrtApi`, `onnxruntime_c_api.h`) that the native bridge calls,
 * bound with koffi to the `libonnxruntime` that onnxruntime-node ships in its bin folder (the same library, and
 * so the same version, as the plain binding runs). `OrtApi` is a table of function pointers that ONNX Runtime
 * only ever appends to, so each function is found by its index in the table: the indices below are its
 * positions in the header, counted once and checked by the bridge's tests (a wrong index fails them at once).
 * Every handle is an opaque pointer; a function returning a status returns null on success. Signatures are written
 * as `f(…)`, the name added when bound.
 */

/** An opaque pointer to an ONNX Runtime object, as koffi hands it over. */
export type Handle = unknown;

/** A bound function, called synchronously on the calling thread. */
export type CFunction = (...args: unknown[]) => unknown;

/** Name, index in `OrtApi` and C signature of every function the bridge calls. */
const FUNCTIONS = {
  GetErrorMessage: [2, 'const char *f(void *status)'],
  CreateEnv: [3, 'void *f(int level, const char *logid, _Out_ void **env)'],
  CreateSession: [7, 'void *f(void *env, const char *path, void *options, _Out_ void **session)'],
  CreateSessionFromArray: [8, 'void *f(void *env, const uint8_t *data, size_t length, void *options, _Out_ void **session)'],
  Run: [
    9,
    'void *f(void *session, void *runOptions, const char **inputNames, void **inputs, size_t inputCount, ' +
      'const char **outputNames, size_t outputCount, _Inout_ void **outputs)',
  ],
  CreateSessionOptions: [10, 'void *f(_Out_ void **options)'],
  SetOptimizedModelFilePath: [11, 'void *f(void *options, const char *path)'],
  SetSessionLogSeverityLevel: [22, 'void *f(void *options, int level)'],
  SetSessionGraphOptimizationLevel: [23, 'void *f(void *options, int level)'],
  SessionGetInputCount: [30, 'void *f(void *session, _Out_ size_t *count)'],
  SessionGetOutputCount: [31, 'void *f(void *session, _Out_ size_t *count)'],
  SessionGetInputTypeInfo: [33, 'void *f(void *session, size_t index, _Out_ void **typeInfo)'],
  SessionGetOutputTypeInfo: [34, 'void *f(void *session, size_t index, _Out_ void **typeInfo)'],
  SessionGetInputName: [36, 'void *f(void *session, size_t index, void *allocator, _Out_ void **name)'],
  SessionGetOutputName: [37, 'void *f(void *session, size_t index, void *allocator, _Out_ void **name)'],
  CreateTensorAsOrtValue: [
    48,
    'void *f(void *allocator, const int64_t *shape, size_t rank, int type, _Out_ void **value)',
  ],
  GetTensorMutableData: [51, 'void *f(void *value, _Out_ void **data)'],
  CastTypeInfoToTensorInfo: [55, 'void *f(void *typeInfo, _Out_ void **tensorInfo)'],
  GetTensorElementType: [60, 'void *f(void *info, _Out_ int *type)'],
  GetDimensionsCount: [61, 'void *f(void *info, _Out_ size_t *count)'],
  GetDimensions: [62, 'void *f(void *info, _Out_ int64_t *dims, size_t count)'],
  CreateRunOptions: [39, 'void *f(_Out_ void **options)'],
  GetSymbolicDimensions: [63, 'void *f(void *info, _Out_ const char **names, size_t count)'],
  GetTensorTypeAndShape: [65, 'void *f(void *value, _Out_ void **info)'],
  CreateMemoryInfo: [68, 'void *f(const char *name, int allocatorType, int id, int memType, _Out_ void **info)'],
  CreateCpuMemoryInfo: [69, 'void *f(int allocatorType, int memType, _Out_ void **info)'],
  AllocatorFree: [76, 'void *f(void *allocator, void *pointer)'],
  GetAllocatorWithDefaultOptions: [78, 'void *f(_Out_ void **allocator)'],
  ReleaseStatus: [93, 'void f(void *status)'],
  ReleaseMemoryInfo: [94, 'void f(void *info)'],
  ReleaseSession: [95, 'void f(void *session)'],
  ReleaseValue: [96, 'void f(void *value)'],
  ReleaseRunOptions: [97, 'void f(void *options)'],
  ReleaseTypeInfo: [98, 'void f(void *typeInfo)'],
  ReleaseTensorTypeAndShapeInfo: [99, 'void f(void *info)'],
  ReleaseSessionOptions: [100, 'void f(void *options)'],
  AddSessionConfigEntry: [130, 'void *f(void *options, const char *key, const char *value)'],
  CreateAllocator: [131, 'void *f(void *session, void *memoryInfo, _Out_ void **allocator)'],
  ReleaseAllocator: [132, 'void f(void *allocator)'],
  RunWithBinding: [133, 'void *f(void *session, void *runOptions, void *binding)'],
  CreateIoBinding: [134, 'void *f(void *session, _Out_ void **binding)'],
  ReleaseIoBinding: [135, 'void f(void *binding)'],
  BindInput: [136, 'void *f(void *binding, const char *name, void *value)'],
  BindOutput: [137, 'void *f(void *binding, const char *name, void *value)'],
  BindOutputToDevice: [138, 'void *f(void *binding, const char *name, void *memoryInfo)'],
  GetBoundOutputValues: [140, 'void *f(void *binding, void *allocator, _Out_ void **values, _Out_ size_t *count)'],
  ClearBoundOutputs: [142, 'void f(void *binding)'],
  AddRunConfigEntry: [165, 'void *f(void *options, const char *key, const char *value)'],
  SessionOptionsAppendExecutionProvider_CUDA_V2: [204, 'void *f(void *options, void *cudaOptions)'],
  CreateCUDAProviderOptions: [205, 'void *f(_Out_ void **cudaOptions)'],
  UpdateCUDAProviderOptions: [
    206,
    'void *f(void *cudaOptions, const char **keys, const char **values, size_t count)',
  ],
  ReleaseCUDAProviderOptions: [208, 'void f(void *cudaOptions)'],
  AddExternalInitializersFromFilesInMemory: [
    279,
    'void *f(void *options, const char **names, void **buffers, const size_t *lengths, size_t count)',
  ],
} as const satisfies Record<string, readonly [number, string]>;

/** The name of a function of the C API the bridge calls. */
export type FunctionName = keyof typeof FUNCTIONS;

/** The bound C API: one {@link CFunction} per name of {@link FUNCTIONS}, plus the koffi helpers the bridge uses. */
export interface OrtCApi {
  readonly fn: Readonly<Record<FunctionName, CFunction>>;
  /** An ArrayBuffer over `length` bytes of native memory at `pointer` (no copy). */
  readonly view: (pointer: Handle, length: number) => ArrayBuffer;
  /** The NUL-terminated string at `pointer`. */
  readonly string: (pointer: Handle) => string;
  /** The `count` pointers of the C array at `pointer`. */
  readonly pointers: (pointer: Handle, count: number) => Handle[];
  /** The ONNX Runtime version of the library (`1.29.0`). */
  readonly version: string;
  /** The environment every bridge session is created in (ONNX Runtime keeps one per process). */
  readonly env: Handle;
  /** The library file, which a session's call thread binds again (`call-thread.ts`). */
  readonly library: string;
}

/**
 * The oldest `OrtApi` version that has every function above (external data from memory came in 1.18, the CUDA
 * provider options V2 in 1.11, the others earlier); the library hands out the same table for any version it supports.
 */
const API_VERSION = 18;

/** The stack koffi gives each call (see {@link bindFunctions}). */
const STACK_SIZE = 8 * 1024 * 1024;

/** `ORT_LOGGING_LEVEL_ERROR`: ONNX Runtime's own warnings are about things the bridge handles. */
export const LOG_ERROR = 3;

/** The path of the `libonnxruntime` that onnxruntime-node loads, for this platform. */
function libraryPath(): string {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(dirname(require.resolve('onnxruntime-node')));
  const file = { linux: 'libonnxruntime.so.1', darwin: 'libonnxruntime.1.dylib', win32: 'onnxruntime.dll' }[
    process.platform as 'linux' | 'darwin' | 'win32'
  ];
  if (file === undefined) throw new Error(`no ONNX Runtime library is known for ${process.platform}`);
  return join(packageDir, 'bin', 'napi-v6', process.platform, process.arch, file);
}

/**
 * Loads koffi and the C API of the library `file` (onnxruntime-node's own by default).
 * @throws Error saying why when koffi, the library or the API version is missing (the caller falls back).
 */
export async function loadCApi(file = libraryPath()): Promise<OrtCApi> {
  const { koffi, fn, version } = await bindFunctions(file, Object.keys(FUNCTIONS) as FunctionName[]);
  const api: Omit<OrtCApi, 'env'> = {
    fn,
    view: (pointer, length) => koffi.view(pointer, length),
    string: (pointer) => koffi.decode(pointer, 'char', -1) as string,
    pointers: (pointer, count) => koffi.decode(pointer, 'void *', count) as Handle[],
    version,
    library: file,
  };
  const env = [null];
  check(api, fn.CreateEnv(LOG_ERROR, 'dreamcord', env));
  return { ...api, env: env[0] };
}

/**
 * Loads koffi on this thread and binds the functions `names` of the library `file`'s C API: for the bridge on the
 * pipeline's thread, and again on each session's call thread (koffi keeps its bindings per thread).
 * @throws Error saying why when koffi, the library or the API version is missing.
 */
export async function bindFunctions<Name extends FunctionName>(
  file: string,
  names: readonly Name[],
): Promise<{ koffi: typeof Koffi; fn: Record<Name, CFunction>; version: string }> {
  const { default: koffi } = await import('koffi');
  // koffi runs a call on a stack of its own, 2 MiB for synchronous calls by default: creating a session (graph
  // optimizers, cuDNN and cuBLAS start-up) can overflow that and crash the process. 8 MiB is a thread's usual stack;
  // it is reserved only while a call runs. koffi takes settings only before its first library on a thread.
  const settings = koffi.config();
  if (settings.sync_stack_size !== STACK_SIZE) koffi.config({ ...settings, sync_stack_size: STACK_SIZE });
  let library: ReturnType<typeof koffi.load>;
  try {
    library = koffi.load(file);
  } catch (error) {
    throw new Error(`cannot load ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const base = library.func('void *OrtGetApiBase(void)')() as Handle;
  const OrtApiBase = koffi.struct({ GetApi: 'void *', GetVersionString: 'void *' });
  const { GetApi, GetVersionString } = koffi.decode(base, OrtApiBase) as { GetApi: Handle; GetVersionString: Handle };
  const version = koffi.call(GetVersionString, koffi.proto('const char *OrtGetVersionString(void)')) as string;
  const table = koffi.call(GetApi, koffi.proto('void *OrtGetApi(uint32_t version)'), API_VERSION) as Handle;
  if (table === null) throw new Error(`ONNX Runtime ${version} does not offer C API version ${API_VERSION}`);

  const pointerSize = koffi.sizeof('void *');
  const fn = {} as Record<Name, CFunction>;
  for (const name of names) {
    const [index, signature] = FUNCTIONS[name];
    const pointer = koffi.decode(table, index * pointerSize, 'void *') as Handle;
    // koffi keeps prototypes by name: each takes its function's.
    const prototype = koffi.proto(signature.replace('f(', `Ort${name}(`));
    fn[name] = koffi.decode(pointer, prototype) as CFunction;
  }
  return { koffi, fn, version };
}

/**
 * Throws ONNX Runtime's message when `status` is an error (and releases it); nothing when it is null (success).
 */
export function check(api: Pick<OrtCApi, 'fn'>, status: unknown): void {
  if (status === null) return;
  const message = api.fn.GetErrorMessage(status) as string;
  api.fn.ReleaseStatus(status);
  throw new Error(message);
}
