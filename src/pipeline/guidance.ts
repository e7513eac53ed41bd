import { float16Values } from './runtime/float16.js';
import type { HostTensor } from './runtime/tensor.js';

/**
 * Classifier-free guidance, in place: `prediction` holds the UNet's batch of 2n, the n unconditional
 * (negative-prompt) predictions first, then the n conditional ones. The first half becomes
 * `uncond + scale · (cond − uncond)`, each operation rounded to float32 as torch computes it.
 * @returns the guided half (a view of `prediction`, no copy).
 */
export function applyGuidance(prediction: Float32Array, scale: number): Float32Array {
  const half = prediction.length / 2;
  const g = Math.fround(scale);
  for (let i = 0; i < half; i++) {
    const uncond = prediction[i] ?? 0;
    prediction[i] = uncond + Math.fround(g * Math.fround((prediction[half + i] ?? 0) - uncond));
  }
  return prediction.subarray(0, half);
}

/**
 * {@link applyGuidance} on the UNet's output as the model returns it: a float32 output is guided in place; an fp16
 * one is decoded and guided in the same pass into `target` (half the output's length), which saves writing the
 * decoded batch and reading it back. The values are those of decoding first and then guiding.
 * @returns the guided half.
 */
export function guideOutput(output: HostTensor, scale: number, target: Float32Array): Float32Array {
  if (output.type === 'float32') return applyGuidance(output.data, scale);
  if (output.type !== 'float16') throw new TypeError(`Expected a float32 or float16 prediction, got ${output.type}`);
  const bits = output.data;
  const half = bits.length / 2;
  if (target.length !== half) throw new RangeError(`Expected a target of ${half} values, got ${target.length}`);
  const values = float16Values();
  const g = Math.fround(scale);
  for (let i = 0; i < half; i++) {
    const uncond = values[bits[i] ?? 0] ?? 0;
    target[i] = uncond + Math.fround(g * Math.fround((values[bits[half + i] ?? 0] ?? 0) - uncond));
  }
  return target;
}
