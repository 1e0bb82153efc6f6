import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Layout is prettier's (.prettierrc.json, `npm run format`): no stylistic rules here.
// The shell scripts of bin/ are shellcheck's (`npm run lint:sh`).
export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // bin/build.mjs: an ES module run by Node.
    files: ['**/*.mjs'],
    languageOptions: {sourceType: 'module', globals: globals.nodeBuiltin},
  },
  {
    // bin/run.cjs, test/reporter.cjs: CommonJS run by Node.
    files: ['**/*.cjs'],
    languageOptions: {sourceType: 'commonjs', globals: globals.node},
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts', 'commands/**/*.ts'],
    rules: {'max-lines-per-function': ['error', {max: 80, skipBlankLines: true, skipComments: true}]},
  },
);
