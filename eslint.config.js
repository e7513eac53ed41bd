// Lint rules, including the module boundaries: each outside dependency has one owning module, and the pipeline
// and the queue stay free of Discord (and the pipeline of the queue and the store). `npm test` runs this, so the
// layering cannot rot silently.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Outside packages and the one folder that may import each. */
const OWNERS = {
  'onnxruntime-node': 'src/pipeline/runtime',
  keyv: 'src/store',
  '@keyv/sqlite': 'src/store',
  '@keyv/redis': 'src/store',
  'discord.js': 'src/discord or src/commands',
  'onnx-proto': 'src/onnx-writer',
};

/**
 * A config block for `files` that forbids every owned package except `allowed`, plus imports of the
 * project folders in `forbiddenFolders` (by path pattern).
 */
function boundary(files, allowed, forbiddenFolders = []) {
  const paths = Object.entries(OWNERS)
    .filter(([name]) => !allowed.includes(name))
    .map(([name, owner]) => ({ name, message: `Only ${owner} may import ${name}.` }));
  const patterns = forbiddenFolders.map((folder) => ({
    group: [`**/${folder}/*`, `**/${folder}/**`, `**/${folder}/index.js`],
    message: `This module must not depend on src/${folder}.`,
  }));
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
  // Later blocks override earlier ones for the files they match, so the general rule comes first.
  boundary(['src/**/*.ts'], []),
  boundary(['src/pipeline/**/*.ts'], [], ['queue', 'store', 'discord', 'commands', 'jobs']),
  boundary(['src/pipeline/runtime/**/*.ts'], ['onnxruntime-node'], ['queue', 'store', 'discord', 'commands', 'jobs']),
  boundary(['src/onnx-writer/**/*.ts'], ['onnx-proto'], ['queue', 'store', 'discord', 'commands', 'jobs', 'convert', 'checkpoint']),
  boundary(['src/queue/**/*.ts'], [], ['discord', 'commands', 'pipeline']),
  boundary(['src/store/**/*.ts'], ['keyv', '@keyv/sqlite', '@keyv/redis'], ['discord', 'commands', 'pipeline', 'queue']),
  boundary(['src/discord/**/*.ts', 'src/commands/**/*.ts'], ['discord.js']),
);
