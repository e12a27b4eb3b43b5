import { defineConfig } from 'vitest/config';

// One run for the whole repository: unit tests (*.test.ts beside the code), tests against real
// services (*.int.test.ts) and cross-service scenarios (test/). globalSetup resolves the services once.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['packages/testkit/src/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
