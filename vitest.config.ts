import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import type { TestProjectInlineConfiguration } from 'vitest/config';

const integrationReachable =
  Boolean(process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL) ||
  process.env.REQUIRE_INTEGRATION === '1' ||
  Boolean(process.env.DOCKER_HOST) ||
  existsSync('/var/run/docker.sock');

const projects: TestProjectInlineConfiguration[] = [{ extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'] } }];
if (integrationReachable) {
  // The end-to-end suite once more on the production shape (SPEC §7), and the security
  // suites about what the stores keep (tokens, refresh reuse, roles, input). Brute-force
  // tests its limiters' stores by name, and slow clients and faults concern no store.
  const onStores = ['test/e2e/**/*.test.ts', 'test/security/{authorization,input,refresh,tokens}.test.ts'];
  projects.push({ extends: true, test: { name: 'postgres+redis', include: onStores, env: { E2E_STORES: 'postgres+redis' } } });
} else {
  console.warn('\n!!! SKIPPED: end-to-end tests on PostgreSQL + Redis (set TEST_DATABASE_URL and TEST_REDIS_URL, or run Docker) !!!\n');
}

export default defineConfig({
  // TypeScript's CommonJS files too (src/adapters/config/cores.cts): Vite leaves `.cts` untransformed by default.
  oxc: { include: /\.([cm]?ts|[jt]sx)$/ },
  test: { testTimeout: 30_000, hookTimeout: 60_000, globalSetup: ['test/global-setup.ts'], projects },
});
