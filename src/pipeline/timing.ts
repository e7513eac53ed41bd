import type { RunClock } from './runtime/session.js';

/** Where a generation's time went, in milliseconds. */
export interface GenerationTiming {
  /** From the call to the result. */
  readonly totalMs: number;
  /** Text encoder runs (ONNX Runtime time). */
  readonly textEncoderMs: number;
  /** VAE encoder runs: img2img and inpainting only (ONNX Runtime time). */
  readonly vaeEncoderMs: number;
  /** VAE decoder runs (ONNX Runtime time). */
  readonly vaeDecoderMs: number;
  /** UNet evaluations in the denoising loop (steps × the sampler's order, less for img2img). */
  readonly steps: number;
  /** Time inside the UNet's `session.run`, all steps together. */
  readonly stepModelMs: number;
  /**
   * The part of `stepModelMs` inside ONNX Runtime's own run call, where the session tells it (the native bridge):
   * the rest is the copies of inputs and outputs around the call. Undefined through onnxruntime-node's binding.
   */
  readonly stepRunCallMs?: number;
  /**
   * The loop's own time, all steps together: tensor conversion, scheduler, guidance, previews. Excludes the
   * caller's progress callback.
   */
  readonly stepOtherMs: number;
  /** The part of `stepOtherMs` spent in the scheduler (`scaleModelInput`, `step` and its noise draws). */
  readonly stepSchedulerMs: number;
}

/** Collects a generation's {@link GenerationTiming} while it runs. */
export class TimingRecorder {
  readonly textEncoder: RunClock = { modelMs: 0 };
  readonly vaeEncoder: RunClock = { modelMs: 0 };
  readonly vaeDecoder: RunClock = { modelMs: 0 };
  readonly unet: RunClock = { modelMs: 0 };
  /** Milliseconds spent in the denoising loop, outside the progress callback. */
  loopMs = 0;
  /** Milliseconds spent in the scheduler's `scaleModelInput` and `step`. */
  schedulerMs = 0;
  steps = 0;
  readonly #start = performance.now();

  /** Milliseconds since the recorder was created. */
  elapsedMs(): number {
    return performance.now() - this.#start;
  }

  /** The figures so far. */
  result(): GenerationTiming {
    return {
      totalMs: this.elapsedMs(),
      textEncoderMs: this.textEncoder.modelMs,
      vaeEncoderMs: this.vaeEncoder.modelMs,
      vaeDecoderMs: this.vaeDecoder.modelMs,
      steps: this.steps,
      stepModelMs: this.unet.modelMs,
      ...(this.unet.runCallMs === undefined ? {} : { stepRunCallMs: this.unet.runCallMs }),
      stepOtherMs: Math.max(0, this.loopMs - this.unet.modelMs),
      stepSchedulerMs: this.schedulerMs,
    };
  }
}
