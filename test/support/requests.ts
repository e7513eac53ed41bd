import type { GenerationRequest } from '../../src/generator/request.js';

/** A request the tiny model draws in a blink (64², 2 steps, Euler, the CPU noise source): the tests' smallest job. */
export const TINY_REQUEST: GenerationRequest = {
  kind: 'txt2img',
  prompt: 'a lighthouse at dusk',
  negative: '',
  seed: '42',
  steps: 2,
  cfg: 7,
  sampler: 'euler',
  width: 64,
  height: 64,
  count: 1,
  rng: 'cpu',
  promptSyntax: 'a1111',
};
