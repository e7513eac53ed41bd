// The AUTOMATIC1111 v1.10.1 references (test/fixtures/a1111, copied from the shared oracle): 13 cases its own
// generation code drew with the tiny model, with the stages in between (sigmas, chunks, initial noise).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readF32 } from '../harness.js';

export const A1111_FIXTURES = 'test/fixtures/a1111';

export interface A1111Chunk {
  readonly tokens: readonly number[];
  readonly multipliers: readonly number[];
}

export interface A1111Schedule {
  readonly end_at_step: number;
  readonly text: string;
  readonly chunks: readonly A1111Chunk[];
}

export interface A1111Case {
  readonly id: string;
  readonly kind: 'txt2img' | 'img2img';
  readonly prompt: string;
  readonly negative: string;
  readonly seed: number;
  readonly steps: number;
  readonly cfg: number;
  readonly w: number;
  readonly h: number;
  readonly n: number;
  readonly sampler: string;
  readonly schedule_type: string;
  readonly rng: 'GPU' | 'CPU';
  readonly clip_skip: number;
  readonly eta_noise_seed_delta: number;
  readonly emphasis: 'Original' | 'No norm' | 'None';
  readonly strength: number | null;
  readonly init_image: string | null;
  readonly infotexts: readonly string[];
  readonly seeds: readonly number[];
  /** k-diffusion samplers: `get_sigmas`. */
  readonly sigmas: readonly number[];
  /** A1111's timestep samplers (DDIM, PLMS…): `CompVisSampler.get_timesteps`, in place of sigmas. */
  readonly timesteps?: readonly number[];
  readonly t_enc?: number;
  readonly conditioning: {
    readonly positive: readonly { readonly weight: number; readonly schedule: readonly A1111Schedule[] }[];
    /** The negative prompt's schedule. */
    readonly negative: readonly A1111Schedule[];
  };
  readonly output_file: string;
  readonly noise_file: string;
  readonly latents_file: string;
}

export const A1111_CASES = (
  JSON.parse(readFileSync(join(A1111_FIXTURES, 'references.json'), 'utf8')) as { pipelines: A1111Case[] }
).pipelines;

/** A float32 array of the oracle, by its `*_file` name. */
export function oracleArray(file: string): Float32Array {
  return readF32(join(A1111_FIXTURES, file));
}

/** The init image of an img2img case (paths in the oracle are relative to the shared fixtures, as here). */
export function initImagePath(c: A1111Case): string | undefined {
  return c.init_image === null ? undefined : join('test/fixtures', c.init_image);
}
