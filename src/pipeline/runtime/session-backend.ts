import type { RunClock } from './session.js';
import type { HostTensor, TensorInfo } from './tensor.js';

/**
 * What runs a loaded model behind a {@link ModelSession}: onnxruntime-node's binding
 * (`binding-session.ts`) or the native bridge to ONNX Runtime's C API (`native/`). Both take and give host
 * tensors, so the pipeline never knows which one runs.
 */
export interface SessionBackend {
  /** Inputs as the graph declares them, in graph order. */
  readonly inputs: readonly TensorInfo[];
  /** Outputs as the graph declares them, in graph order. */
  readonly outputs: readonly TensorInfo[];
  /**
   * Runs the model on `feeds` (read, never kept; a {@link constantTensor} may be) and returns every output, or only
   * `outputs` when given. A backend that can tell ONNX Runtime's own run call from its copies around it adds the
   * call's time to `clock.runCallMs`.
   * @throws PipelineError `MODEL_UNSUPPORTED` for an output of a type {@link HostTensor} cannot hold; ONNX
   *   Runtime's own error otherwise.
   */
  run(feeds: Readonly<Record<string, HostTensor>>, outputs?: readonly string[], clock?: RunClock): Promise<Record<string, HostTensor>>;
  /** Frees the native memory. The backend cannot run afterwards. */
  release(): Promise<void>;
}
