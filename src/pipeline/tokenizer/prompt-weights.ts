/**
 * A1111 "Original" emphasis: multiply each token's hidden vector by its weight, then rescale so the mean equals
 * the mean before weighting. In place on one chunk's encoder output [77, hiddenSize]. No-op when all weights
 * are 1.
 *
 * Means are over every element of the chunk, accumulated in float64 (A1111 takes them in the tensor's dtype).
 * If weighting makes the mean exactly 0 it cannot be restored, and the weighted values are kept unscaled
 * (A1111 would produce NaN or infinity).
 *
 * @param hidden row-major `[tokens, hiddenSize]` encoder output, modified in place
 * @param weights one weight per token (row), e.g. `PromptTokens.weights[i]`
 * @param hiddenSize elements per token vector (768 for SD 1.x, 1024 for SD 2.x)
 * @param restoreMean false for A1111's "No norm" emphasis: the weights alone
 */
export function applyPromptWeights(
  hidden: Float32Array,
  weights: Float32Array,
  hiddenSize: number,
  restoreMean = true,
): void {
  if (!Number.isInteger(hiddenSize) || hiddenSize <= 0) {
    throw new RangeError(`hiddenSize must be a positive integer, got ${hiddenSize}`);
  }
  if (hidden.length !== weights.length * hiddenSize) {
    throw new RangeError(
      `hidden has ${hidden.length} values, but ${weights.length} weights × hiddenSize ${hiddenSize} = ` +
        `${weights.length * hiddenSize}`,
    );
  }
  if (weights.every((weight) => weight === 1)) return;

  const originalMean = mean(hidden);
  weights.forEach((weight, token) => {
    const start = token * hiddenSize;
    for (let i = start; i < start + hiddenSize; i += 1) hidden[i] = (hidden[i] as number) * weight;
  });
  if (!restoreMean) return;
  const weightedMean = mean(hidden);
  if (weightedMean === 0) return;
  const scale = originalMean / weightedMean;
  for (let i = 0; i < hidden.length; i += 1) hidden[i] = (hidden[i] as number) * scale;
}

function mean(values: Float32Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}
