import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { moduleDependencies, moduleDoorConfigs } from './eslint.modules.js';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'client/dist/', 'console/dist/', 'client/src/generated/', '.tollgate/', 'test/bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  ...moduleDoorConfigs(moduleDependencies),
  {
    // Migrations take Kysely<any> on purpose: they must not change when the app's types do.
    files: ['migrations/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { process: 'readonly', console: 'readonly' } },
  },
);
