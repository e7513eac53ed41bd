/** Where a seed's noise comes from: torch's CPU generator, or torch's CUDA generator emulated on the CPU. */
export type RngSource = 'cpu' | 'gpu';

/**
 * A seeded source of standard normal noise. Successive calls continue the same stream, exactly like
 * successive `torch.randn` calls on one `torch.Generator`.
 */
export interface RandomGenerator {
  /** Draws `shape.reduce(×)` standard normal float32 values (row-major). */
  randn(shape: readonly number[]): Float32Array;
}
