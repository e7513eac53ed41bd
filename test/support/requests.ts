import type { ProductDefaults } from '../../src/config/index.js';
import type { ServedModel } from '../../src/generator/generator.js';
import type { GenerationRequest } from '../../src/generator/request.js';
import type { RequestDefaults } from '../../src/jobs/build-request.js';

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

/** A served SD 1.x model as the bot describes it before loading (512², no buckets, 12 text encoder layers). */
export const SD1_MODEL: ServedModel = {
  name: 'sd15',
  displayName: 'SD 1.5',
  family: 'sd1',
  nativeSize: 512,
  sizeBuckets: [],
  maxClipSkip: 12,
  schedulerConfig: {},
};

/** What a request falls back on with one SD 1.x model (or `models`) and the product's generation defaults. */
export function requestDefaults(generation: ProductDefaults['generation'], models: readonly ServedModel[] = [SD1_MODEL]): RequestDefaults {
  return { ...generation, models: () => models, loras: [] };
}
