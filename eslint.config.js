// Lint rules, including the module boundaries: each outside dependency has one owning module, every folder imports
// only the folders below it in docs/ARCHITECTURE.md's table, and nothing outside the pipeline reaches past its public
// entry. `npm test` runs this, so the layering cannot rot silently.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Outside packages and the one folder that may import each. */
const OWNERS = {
  'onnxruntime-node': 'src/pipeline/runtime',
  koffi: 'src/pipeline/runtime',
  keyv: 'src/store',
  '@keyv/sqlite': 'src/store',
  '@keyv/redis': 'src/store',
  'discord.js': 'src/discord',
  'onnx-proto': 'src/onnx-writer',
  nsfwjs: 'src/content',
  '@tensorflow/tfjs': 'src/content',
  '@tensorflow/tfjs-backend-wasm': 'src/content',
  bullmq: 'src/gpu-workers',
  ioredis: 'src/gpu-workers',
};

/** Project folders a module may depend on, named as in import paths (`discord/commands` etc. by their last part). */
const FOLDERS = [
  'pipeline', 'checkpoint', 'networks', 'onnx-writer', 'convert', 'catalog', 'config', 'store', 'queue', 'settings', 'generator', 'content', 'inputs', 'jobs',
  'discord', 'commands', 'interactions', 'delivery', 'cli', 'gpu-workers',
];

/**
 * A config block for `files` that forbids every owned package except `allowed`, every project folder not in
 * `mayImport`, and (outside the pipeline) any pipeline path but its public entry `pipeline/index.js`.
 */
function boundary(files, allowed, mayImport) {
  const paths = Object.entries(OWNERS)
    .filter(([name]) => !allowed.includes(name))
    .map(([name, owner]) => ({ name, message: `Only ${owner} may import ${name}.` }));
  const patterns = FOLDERS.filter((folder) => !mayImport.includes(folder)).map((folder) => ({
    group: [`**/${folder}/*`, `**/${folder}/**`],
    message: `This module must not depend on ${folder}/ (see docs/ARCHITECTURE.md).`,
  }));
  if (!files.some((glob) => glob.startsWith('src/pipeline/'))) {
    patterns.push({
      group: ['**/pipeline/**', '!**/pipeline/index.js'],
      message: 'Import the pipeline through its public entry, pipeline/index.js.',
    });
  }
  return { files, rules: { 'no-restricted-imports': ['error', { paths, patterns }] } };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test/fixtures/', '.device/', 'bench-out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // node:test's describe/it return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
  },
  // Later blocks override earlier ones for the files they match, so the general rule comes first. Each line is a row of
  // docs/ARCHITECTURE.md's table: what the folder may import (a subfolder imports its own folder freely).
  boundary(['src/**/*.ts'], [], FOLDERS),
  boundary(['src/pipeline/**/*.ts'], [], []),
  boundary(['src/pipeline/runtime/**/*.ts'], ['onnxruntime-node', 'koffi'], []),
  boundary(['src/checkpoint/**/*.ts'], [], ['pipeline']),
  boundary(['src/networks/**/*.ts'], [], ['pipeline', 'checkpoint']),
  boundary(['src/onnx-writer/**/*.ts'], ['onnx-proto'], ['pipeline']),
  boundary(['src/convert/**/*.ts'], [], ['pipeline', 'checkpoint', 'onnx-writer']),
  boundary(['src/catalog/**/*.ts'], [], ['pipeline', 'checkpoint', 'convert']),
  boundary(['src/config/**/*.ts'], [], ['pipeline']),
  boundary(['src/store/**/*.ts'], ['keyv', '@keyv/sqlite', '@keyv/redis'], []),
  boundary(['src/log.ts', 'src/refusal.ts', 'src/shown-value.ts', 'src/worker-thread.ts'], [], []),
  boundary(['src/queue/**/*.ts'], [], ['store']),
  boundary(['src/settings/**/*.ts'], [], ['pipeline', 'config', 'store']),
  boundary(['src/generator/**/*.ts'], [], ['pipeline', 'networks']),
  boundary(['src/content/**/*.ts'], ['nsfwjs', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'], ['pipeline']),
  boundary(['src/inputs/**/*.ts'], [], ['pipeline', 'store', 'generator']),
  boundary(['src/gpu-workers/**/*.ts'], ['bullmq', 'ioredis'], ['pipeline', 'queue', 'generator']),
  boundary(['src/jobs/**/*.ts'], [], ['pipeline', 'config', 'store', 'queue', 'settings', 'generator', 'content', 'inputs']),
  boundary(['src/discord/*.ts'], ['discord.js'], FOLDERS),
  boundary(['src/discord/delivery/**/*.ts'], ['discord.js'], ['pipeline', 'generator', 'jobs', 'delivery']),
  boundary(['src/discord/interactions/**/*.ts'], ['discord.js'], ['pipeline', 'config', 'settings', 'generator', 'inputs', 'jobs', 'delivery', 'interactions']),
  boundary(['src/discord/commands/**/*.ts'], ['discord.js'], ['pipeline', 'config', 'settings', 'generator', 'inputs', 'jobs', 'delivery', 'interactions', 'commands']),
  boundary(['src/cli/**/*.ts'], [], ['pipeline', 'checkpoint', 'networks', 'convert', 'catalog', 'config', 'cli', 'gpu-workers']),
  {
    // Mentions (`<@id>`, `<#id>`) are Discord's words: outside src/discord, modules hand over ids and Discord's layer
    // writes them (e.g. discord/interactions/refusal-text.ts). Reading a mention a member typed is a regex, not text.
    files: ['src/**/*.ts'],
    ignores: ['src/discord/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...['Literal[value=/<[#@]/]', 'TemplateElement[value.raw=/<[#@]/]'].map((selector) => ({
          selector,
          message: 'Discord markup belongs in src/discord: hand over the ids instead.',
        })),
      ],
    },
  },
);
