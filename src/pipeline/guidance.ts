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
