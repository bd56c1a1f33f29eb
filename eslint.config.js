import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The hexagon's layer rule, checked mechanically (STYLE rule 1). */
const frameworks = ['koa', '@koa/*', 'knex', 'pg', 'ioredis', 'jose', 'argon2', 'bcrypt', 'bcryptjs', 'better-sqlite3', 'pino', 'yaml', 'raw-body', 'node:*'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // TypeScript's CommonJS (src/start.cts, src/adapters/config/cores.cts) imports with `import x = require()`.
    files: ['**/*.cts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['../*', '!../domain/*'], message: 'src/domain imports only src/domain.' },
          { group: frameworks, message: 'src/domain imports no framework, driver or Node API.' },
        ],
      }],
    },
  },
  {
    files: ['src/application/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['../adapters/*', '../*/adapters/*', '../main*'], message: 'src/application depends only on the domain and its ports.' },
          { group: frameworks, message: 'src/application imports no framework or driver: reach the world through a port.' },
        ],
      }],
    },
  },
  {
    files: ['bench/**/*.mjs', 'test/**/*.mjs', '*.js'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
