import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PipelineError } from '../errors.js';

/**
 * The ONNX Runtime execution providers dreamcord can load models on, in the order `auto` tries them:
 * CUDA (NVIDIA), DirectML (Windows), CoreML (macOS), WebGPU (Vulkan/Metal/D3D12 through Dawn), then the CPU.
 */
export const EXECUTION_PROVIDERS = Object.freeze(['cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const);

export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** An execution provider, or `auto`: the first of {@link EXECUTION_PROVIDERS} that loads on this machine. */
export type ExecutionProviderChoice = 'auto' | ExecutionProvider;

/** Providers that only exist on one operating system; `auto` skips them elsewhere. */
const PLATFORM_ONLY: Partial<Record<ExecutionProvider, NodeJS.Platform>> = { dml: 'win32', coreml: 'darwin' };

/**
 * The providers to try, in order, for `choice` on `platform`: for `auto` every provider the platform can have
 * (the CPU last, which always loads); otherwise exactly the one asked for, so that it fails loudly if unavailable.
 */
export function providerCandidates(
  choice: ExecutionProviderChoice,
  platform: NodeJS.Platform = process.platform,
): readonly ExecutionProvider[] {
  if (choice !== 'auto') return [choice];
  return EXECUTION_PROVIDERS.filter((provider) => {
    const only = PLATFORM_ONLY[provider];
    return only === undefined || only === platform;
  });
}

/**
 * Reads a provider choice from text (a CLI flag, a config value).
 * @throws PipelineError `INVALID_REQUEST` naming the allowed values.
 */
export function parseProviderChoice(value: string): ExecutionProviderChoice {
  const allowed: readonly string[] = ['auto', ...EXECUTION_PROVIDERS];
  if (!allowed.includes(value)) {
    throw new PipelineError(
      'INVALID_REQUEST',
      `Expected the execution provider to be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
      { field: 'provider' },
    );
  }
  return value as ExecutionProviderChoice;
}

/** The CUDA provider's library as `ONNXRUNTIME_NODE_INSTALL=cuda12 npm install` puts it beside the binding. */
const CUDA_PROVIDER_LIBRARY: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'libonnxruntime_providers_cuda.so',
  win32: 'onnxruntime_providers_cuda.dll',
};

/**
 * Whether onnxruntime-node's CUDA provider library is installed on this machine (without loading it: that
 * takes seconds and needs a GPU). npm's onnxruntime-node ships without it; whether it then loads is only known
 * when a session is created.
 */
export function cudaProviderInstalled(): boolean {
  const library = CUDA_PROVIDER_LIBRARY[process.platform];
  if (library === undefined) return false;
  const packageDir = dirname(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')));
  return existsSync(join(packageDir, 'bin', 'napi-v6', process.platform, process.arch, library));
}
