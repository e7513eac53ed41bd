import type { ExecutionProvider } from '../providers.js';
import { loadCApi, type OrtCApi } from './c-api.js';
import { CallThread } from './call-thread.js';

/**
 * Where sessions are created through the native bridge to ONNX Runtime's C API instead of onnxruntime-node's
 * binding: `auto` on CUDA (the provider whose options the binding cannot pass), `on` on CUDA and the CPU (the
 * CPU is how the bridge is tested on machines without a GPU), `off` nowhere.
 */
export type NativeBridgeChoice = 'auto' | 'on' | 'off';

const BRIDGE_PROVIDERS: Readonly<Record<NativeBridgeChoice, readonly ExecutionProvider[]>> = {
  auto: ['cuda'],
  on: ['cuda', 'cpu'],
  off: [],
};

/** The values a {@link NativeBridgeChoice} takes, as the environment setting `ONNX_NATIVE_BRIDGE` lists them. */
export const NATIVE_BRIDGE_CHOICES = Object.freeze(['auto', 'on', 'off'] as const satisfies readonly NativeBridgeChoice[]);

/**
 * Where sessions go through the bridge unless a setting says otherwise (`ONNX_NATIVE_BRIDGE`): nowhere, since on its
 * own it cost more than it saved — on the GPU host it cut the cold start 12.3 → 7.7 s but made the first job after
 * the warm-up 2 s slower and took 0.7 GiB more, with steps as fast as the binding's (README, "The native bridge").
 * Those figures predate each session's calls on a thread of its own (`call-thread.ts`), which should remove both.
 */
export const DEFAULT_NATIVE_BRIDGE: NativeBridgeChoice = 'off';

/**
 * Where the models that may run as CUDA graphs (the UNet) do: `auto` where the bridge runs them on CUDA, without a
 * word elsewhere; `on` the same, with a warning where they cannot (the bridge off or not loading, another provider);
 * `off` nowhere.
 */
export type CudaGraphChoice = 'auto' | 'on' | 'off';

/** The values a {@link CudaGraphChoice} takes, as the environment setting `ONNX_CUDA_GRAPHS` lists them. */
export const CUDA_GRAPH_CHOICES = Object.freeze(['auto', 'on', 'off'] as const satisfies readonly CudaGraphChoice[]);

/**
 * CUDA graphs unless a setting says otherwise (`ONNX_CUDA_GRAPHS`): nowhere. They pay on the CUDA form (a step 12.1 →
 * 8.2 ms on the GPU host), but ONNX Runtime cannot capture the portable form's UNet (its InstanceNormalization clears
 * memory during capture) and the process does not survive the failed capture (README, "CUDA graphs for the UNet").
 */
export const DEFAULT_CUDA_GRAPHS: CudaGraphChoice = 'off';

/** Whether `choice` creates sessions on `provider` through the bridge. */
export function bridgesProvider(choice: NativeBridgeChoice, provider: ExecutionProvider): boolean {
  return BRIDGE_PROVIDERS[choice].includes(provider);
}

/** Why `choice` leaves sessions on `provider` to onnxruntime-node's binding (for the log's `model loaded` line). */
export function unbridgedReason(choice: NativeBridgeChoice, provider: ExecutionProvider): string {
  if (choice === 'off') return 'the native bridge is off';
  return `the native bridge (${choice}) covers ${BRIDGE_PROVIDERS[choice].join(' and ')}, not ${provider}`;
}

/**
 * The CUDA provider options V2 the bridge sets, each for a figure of issue 17 that onnxruntime-node's defaults
 * cost: cuDNN's HEURISTIC algorithm choice instead of timing every algorithm of every convolution at the first run
 * (EXHAUSTIVE, most of the cold start); an arena that grows by what is asked rather than to the next power of two,
 * and cuDNN's default workspace rather than the largest it can use (peak memory); TF32 for the float32 layers of the
 * portable form (ONNX Runtime's default, said so it stays so).
 */
export const CUDA_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  cudnn_conv_algo_search: 'HEURISTIC',
  arena_extend_strategy: 'kSameAsRequested',
  cudnn_conv_use_max_workspace: '0',
  use_tf32: '1',
});

let loading: Promise<OrtCApi | Error> | undefined;

/**
 * The C API, loaded once per process, or the reason it cannot be (koffi or the library missing, an ONNX Runtime
 * too old, no call thread can start): the caller then uses the plain binding.
 */
export function loadNativeBridge(): Promise<OrtCApi | Error> {
  loading ??= loadCApi()
    .then(async (api) => {
      await CallThread.prime(api);
      return api;
    })
    .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  return loading;
}
